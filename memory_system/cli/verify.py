"""``memory-system verify --option a|b|c``: the runbook's verification after a rollback."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, print_json
from memory_system.client import MemoryConnectionError, MemoryTimeout
from memory_system.core.errors import StoreError
from memory_system.ops import verify as verifier

UrlOption = Annotated[str, typer.Option("--url", help="The running service.", show_default=True)]


def verify(
    option: Annotated[
        str, typer.Option("--option", help="Runbook option: a (flags), b (code), c (database).")
    ],
    url: UrlOption = "http://127.0.0.1:8080",
    flag: Annotated[
        list[str] | None,
        typer.Option("--flag", help="Option a: a flag that was rolled back (repeat; default: all three)."),
    ] = None,
    schema_version: Annotated[
        int | None,
        typer.Option("--schema-version", help="Option c: the schema version the rollback should have left."),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Check against the live service (and database) that a rollback took; exit 1 if any check fails.

    Tokens come from MEMORY_SYSTEM_ADMIN_TOKEN and MEMORY_SYSTEM_AGENT_TOKEN (none needed
    for an agent in --dev mode).
    """
    choice = option.strip().lower()
    try:
        if choice == "a":
            checks = verifier.verify_option_a(
                url,
                flag,
                admin_token=os.environ.get("MEMORY_SYSTEM_ADMIN_TOKEN"),
                agent_token=os.environ.get("MEMORY_SYSTEM_AGENT_TOKEN"),
            )
        elif choice == "b":
            checks = verifier.verify_option_b(url)
        elif choice == "c":
            checks = verifier.verify_option_c(db_path(db), url or None, expect_version=schema_version)
        else:
            fail(f"--option {option!r} is not a runbook option; use a (flags), b (code) or c (database)")
    except (ValueError, StoreError) as exc:
        fail(str(exc))
    except (MemoryConnectionError, MemoryTimeout) as exc:
        fail(f"cannot reach the service at {url}: {exc}; is it running? (--url)")
    failed = [c for c in checks if not c.ok]
    if json_out:
        print_json({"option": choice, "ok": not failed, "checks": verifier.as_dicts(checks)})
    else:
        for c in checks:
            mark = "[green]ok  [/]" if c.ok else "[bold red]FAIL[/]"
            console.print(f"{mark} {c.name}: {c.detail}", highlight=False)
        console.print(f"option {choice}: {len(checks) - len(failed)}/{len(checks)} checks passed")
    if failed:
        raise typer.Exit(1)
