"""``memory-system verify --option a|b|c``: the runbook's verification after a rollback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, path_value, print_json
from memory_system.client import MemoryConnectionError, MemoryTimeout
from memory_system.core.errors import StoreError
from memory_system.ops import verify as verifier
from memory_system.ops.verify import Check, Target

UrlOption = Annotated[str, typer.Option("--url", help="The running service.", show_default=True)]
LogFileOption = Annotated[
    Path | None,
    typer.Option(
        "--log-file",
        parser=path_value,
        help="The service's JSON log (default: the one its start record <db>.service.json names).",
        show_default=False,
    ),
]
ExpectVersionOption = Annotated[
    str | None,
    typer.Option(
        "--expect-version",
        help="The version that should be running (default: this CLI's version and commit).",
        show_default=False,
    ),
]


def target(url: str, db: Path | None, log_file: Path | None, expect_version: str | None) -> Target:
    return Target(
        url=url or None,
        admin_token=os.environ.get("MEMORY_SYSTEM_ADMIN_TOKEN"),
        agent_token=os.environ.get("MEMORY_SYSTEM_AGENT_TOKEN"),
        db_path=db,
        log_file=log_file,
        expect_version=expect_version,
    )


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
        typer.Option(
            "--schema-version",
            help="Option c: also check the newest applied migration (legacy mode is always checked).",
        ),
    ] = None,
    db: DbOption = None,
    log_file: LogFileOption = None,
    expect_version: ExpectVersionOption = None,
    json_out: JsonOption = False,
) -> None:
    """Check every measurable checklist item against the live service (and database); exit 1 if
    any fails. Items the product cannot measure print as manual.

    Tokens come from MEMORY_SYSTEM_ADMIN_TOKEN and MEMORY_SYSTEM_AGENT_TOKEN. The sample
    session runs in a probe namespace: with --db a short-lived agent token is minted for it
    (and revoked), in --dev mode headers name it.
    """
    choice = option.strip().lower()
    if choice not in ("a", "b", "c"):
        fail(f"--option {option!r} is not a runbook option; use a (flags), b (code) or c (database)")
    try:
        if choice == "a":
            checks = verifier.verify_option_a(target(url, db, log_file, expect_version), flag)
        elif choice == "b":
            checks = verifier.verify_option_b(target(url, db, log_file, expect_version))
        else:
            path = db_path(db)
            checks = verifier.verify_option_c(
                target(url, path, log_file, expect_version), path, expect_schema=schema_version
            )
    except (ValueError, StoreError) as exc:
        fail(str(exc))
    except (ConnectionError, MemoryConnectionError, MemoryTimeout) as exc:
        fail(f"cannot reach the service at {url}: {exc}; is it running? (--url)")
    failed = report(choice, checks, json_out)
    if failed:
        raise typer.Exit(1)


def report(choice: str, checks: list[Check], json_out: bool) -> int:
    """Print the checks (one line each, or JSON); the number that failed."""
    failed = [c for c in checks if not c.ok]
    manual = [c for c in checks if c.state == "manual"]
    if json_out:
        print_json({"option": choice, "ok": not failed, "checks": verifier.as_dicts(checks)})
        return len(failed)
    for line in lines(checks):
        console.print(line, highlight=False)
    measured = len(checks) - len(manual)
    console.print(
        f"option {choice}: {measured - len(failed)}/{measured} checks passed, {len(manual)} manual",
        highlight=False,
    )
    return len(failed)


def lines(checks: list[Check]) -> list[str]:
    marks = {"ok": "[green]ok  [/]", "fail": "[bold red]FAIL[/]", "manual": "[yellow]manual[/]"}
    return [f"{marks[c.state]} {c.name}: {c.detail}" for c in checks]
