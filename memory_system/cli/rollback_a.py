"""``memory-system rollback a``: runbook option A (flags off) as one command, each step timed."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Annotated

import typer

from memory_system.cli import verify as verify_cli
from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, print_json
from memory_system.ops.runbook import incident_log, option_a
from memory_system.ops.runbook.steps import Procedure, Step


def print_step(step: Step) -> None:
    mark = "[green]ok[/]  " if step.ok else "[bold red]FAIL[/]"
    console.print(
        f"{mark} {step.name} ({step.seconds:.2f} s): {step.detail}", highlight=False, soft_wrap=True
    )


def quiet(step: Step) -> None:
    """The step reporter of ``--json`` runs: the JSON at the end says it all."""


def say(json_out: bool) -> Callable[[str], None]:
    """Where a rollback's side lines (its incident) go: the console, or nowhere under --json."""
    return (lambda line: None) if json_out else (lambda line: console.print(line, highlight=False))


def actor(option: str) -> str:
    try:
        return f"rollback {option} ({getpass.getuser()})"
    except (KeyError, OSError):
        return f"rollback {option}"


ReasonOption = Annotated[
    str,
    typer.Option("--reason", help="Why (the incident record and the notices carry it)."),
]
SeverityOption = Annotated[
    str | None, typer.Option("--severity", help="SEV1, SEV2 or SEV3 (default: SEV2 for a and b, SEV1 for c).")
]


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
    reason: ReasonOption = "runbook option A",
    severity: SeverityOption = None,
    json_out: JsonOption = False,
) -> None:
    """Turn all (or the named) flags off through the admin API, wait until the service reports
    them off (0 in effect, no active session with them), then run verify A. Exit 0 only when
    every check passed. Needs MEMORY_SYSTEM_ADMIN_TOKEN; --db lets the sample session mint a
    probe token (else the service must run with --dev). Opens an incident in the database."""
    target = verify_cli.target(url, db, log_file, None)
    who = actor("a")
    incident = incident_log.DeferredIncident(
        lambda: incident_log.open_rollback_incident(
            db_path(db), "a", reason=reason, flags=flag or (), actor=who, severity=severity
        ),
        quiet if json_out else print_step,
        say(json_out),
        after=None,  # turning flags off needs no precondition: the attempt is the incident
    )
    procedure = Procedure("a", report=incident)
    try:
        outcome = option_a.rollback_a(target, flag, procedure, actor=who, wait_off_s=wait_s)
    except ValueError as exc:
        fail(str(exc))
    incident_id = incident.finish(procedure, outcome.checks, data_loss={})
    if json_out:
        print_json({**outcome.to_dict(), "incident": incident_id})
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
