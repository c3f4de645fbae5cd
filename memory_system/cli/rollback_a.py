"""``memory-system rollback a``: runbook option A (flags off) as one command, each step timed."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from memory_system.cli import verify as verify_cli
from memory_system.cli._common import DbOption, JsonOption, console, fail, print_json
from memory_system.ops.runbook import option_a
from memory_system.ops.runbook.steps import Procedure, Step


def print_step(step: Step) -> None:
    mark = "[green]ok[/]  " if step.ok else "[bold red]FAIL[/]"
    console.print(
        f"{mark} {step.name} ({step.seconds:.2f} s): {step.detail}", highlight=False, soft_wrap=True
    )


def _actor() -> str:
    try:
        return f"rollback a ({getpass.getuser()})"
    except (KeyError, OSError):
        return "rollback a"


def a(
    flag: Annotated[
        list[str] | None,
        typer.Option("--flag", help="A flag to turn off (repeat; default: all three)."),
    ] = None,
    url: verify_cli.UrlOption = "http://127.0.0.1:8080",
    db: DbOption = None,
    log_file: verify_cli.LogFileOption = None,
    wait_s: Annotated[
        float, typer.Option("--wait-s", help="How long to wait for the service to report the flags off.")
    ] = option_a.WAIT_OFF_S,
    json_out: JsonOption = False,
) -> None:
    """Turn all (or the named) flags off through the admin API, wait until the service reports
    them off (0 in effect, no active session with them), then run verify A. Exit 0 only when
    every check passed. Needs MEMORY_SYSTEM_ADMIN_TOKEN; --db lets the sample session mint a
    probe token (else the service must run with --dev)."""
    target = verify_cli.target(url, db, log_file, None)
    procedure = Procedure("a", report=(lambda step: None) if json_out else print_step)
    try:
        outcome = option_a.rollback_a(target, flag, procedure, actor=_actor(), wait_off_s=wait_s)
    except ValueError as exc:
        fail(str(exc))
    if json_out:
        print_json(outcome.to_dict())
    else:
        for line in verify_cli.lines(outcome.checks):
            console.print(line, highlight=False)
    if not outcome.ok:
        if json_out:
            raise typer.Exit(1)
        fail(f"rollback a stopped: {outcome.error}")
    if not json_out:
        console.print(
            f"[green]rollback a: {', '.join(outcome.flags)} off, effective in {outcome.effective_in_s} s, "
            f"verified; {procedure.seconds:.2f} s in all[/]",
            highlight=False,
        )
