"""``memory-system rollback c``: runbook option C (Phase 2-4 migrations rolled back, legacy mode) as one
command, each step timed; on a failed check after the database changed, the backup is put
back automatically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from memory_system.cli import approve as approve_cli
from memory_system.cli import verify as verify_cli
from memory_system.cli._common import (
    DbOption,
    JsonOption,
    console,
    db_path,
    err_console,
    fail,
    path_value,
    print_json,
)
from memory_system.cli.rollback_a import SeverityOption, actor, print_step, quiet, say
from memory_system.core.config import ConfigError
from memory_system.core.logging import configure_logging
from memory_system.core.settings_loader import load_settings
from memory_system.ops import approvals
from memory_system.ops.impact import Impact
from memory_system.ops.runbook import incident_log, option_c
from memory_system.ops.runbook.steps import Procedure


def _asker(yes: bool, json_out: bool) -> option_c.Confirm:
    def confirm(impacts: list[Impact]) -> bool:
        if not json_out:
            table = Table("migration", "table", "rows lost", "created since applied")
            for found in impacts:
                for t in found.tables:
                    created = "-" if t.created_after is None else str(t.created_after)
                    table.add_row(f"{found.migration:03d} {found.name}", t.table, str(t.rows), created)
            console.print(table)
        if yes:
            return True
        total = sum(i.total_rows for i in impacts)
        return typer.confirm(f"drop these {total} rows (the backup keeps them)?", default=False, err=json_out)

    return confirm


def _configured_second_copy(db: Path | None) -> str | None:
    """``backupSecondCopy`` from the settings the service reads (env, then config file)."""
    try:
        return load_settings({"db_path": db}).backup_second_copy
    except ConfigError as exc:
        fail(f"{exc}; or give --second-copy")


RequestOption = Annotated[
    int | None,
    typer.Option(
        "--request",
        min=1,
        help="The approval request (from --request-approval) approved by a manager and a DBA.",
    ),
]
RequestApprovalOption = Annotated[
    bool,
    typer.Option(
        "--request-approval",
        help="Do not roll back: create an approval request (the runbook template, filled in) and "
        "print its id and the approve command.",
    ),
]
ReasonOption = Annotated[
    str | None,
    typer.Option(
        "--reason", help="Why the rollback is needed: the approval request, the incident and the notices."
    ),
]
RequestedByOption = Annotated[
    str | None,
    typer.Option(
        "--requested-by", help="With --request-approval: who asks (default: $USER).", show_default=False
    ),
]
ExpiresInOption = Annotated[
    float,
    typer.Option("--expires-in", min=1, help="With --request-approval: minutes until the request expires."),
]
ApprovedByOption = Annotated[
    list[str] | None,
    typer.Option(
        "--approved-by",
        help="Only with --emergency: a name of who agreed (free text, recorded as such).",
    ),
]


def c(
    db: DbOption = None,
    request: RequestOption = None,
    request_approval: RequestApprovalOption = False,
    reason: ReasonOption = None,
    requested_by: RequestedByOption = None,
    expires_in: ExpiresInOption = 240,
    approved_by: ApprovedByOption = None,
    emergency: Annotated[
        bool,
        typer.Option(
            "--emergency",
            help="Waive the approvals and the second copy; logged at CRITICAL (rollback_c_emergency) "
            "and recorded; --approved-by names are accepted only with it.",
        ),
    ] = False,
    backup_dir: Annotated[
        Path | None,
        typer.Option(
            "--backup-dir",
            parser=path_value,
            help="Folder for the backup (default: backups/ next to the database).",
            show_default=False,
        ),
    ] = None,
    second_copy: Annotated[
        str | None,
        typer.Option(
            "--second-copy",
            help="Where the backup is copied too: a folder, or host:path (rsync, else scp); default: "
            "backupSecondCopy in the config file ($MEMORY_SYSTEM_BACKUP_SECOND_COPY).",
            show_default=False,
        ),
    ] = None,
    log_file: verify_cli.LogFileOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask before dropping the rows the impact shows.")
    ] = False,
    severity: SeverityOption = None,
    json_out: JsonOption = False,
) -> None:
    """Stop the service, back up (verified, second copy), show the impact, roll back 005 and
    004 (each verified), start the service in legacy mode, verify C. Exit 0 only when all
    passed; on a failed check after the database changed, the backup is restored and the
    service started again as it was.

    Approvals: '--request-approval --reason TEXT' creates a request; each approver runs
    'memory-system approve --request ID'; then '--request ID' rolls back."""
    if request_approval:
        if request is not None or approved_by or emergency:
            fail("--request-approval only creates a request: leave out --request, --approved-by, --emergency")
        approve_cli.create_request(
            db,
            action=approvals.ROLLBACK_C,
            reason=reason,
            requested_by=requested_by,
            expires_in_minutes=expires_in,
            json_out=json_out,
        )
        return
    if approved_by and not emergency:
        fail(
            "--approved-by names are accepted only with --emergency; ask for approval with "
            "'memory-system rollback c --request-approval --reason TEXT', then run --request ID"
        )
    if second_copy is None:
        second_copy = _configured_second_copy(db)
    procedure_request = option_c.OptionCRequest(
        db_path=db_path(db),
        approved_by=tuple(approved_by or ()),
        approval_request=request,
        emergency=emergency,
        backup_dir=backup_dir,
        second_copy=second_copy,
        admin_token=os.environ.get("MEMORY_SYSTEM_ADMIN_TOKEN"),
        agent_token=os.environ.get("MEMORY_SYSTEM_AGENT_TOKEN"),
        log_file=log_file,
    )
    configure_logging()  # the rollback's events go to stderr as JSON lines, as the service's do

    def open_incident() -> incident_log.RollbackIncident:
        record = incident_log.open_rollback_incident(
            procedure_request.db_path,
            "c",
            reason=reason or "runbook option C",
            actor=actor("c"),
            severity=severity,
        )
        if emergency:
            incident_log.announce_emergency(record, approved_by or [])
        return record

    # Opened once the approvals passed: a refused rollback changed nothing and pages nobody.
    incident = incident_log.DeferredIncident(
        open_incident, quiet if json_out else print_step, say(json_out), after="approvals"
    )
    procedure = Procedure("c", report=incident)
    outcome = option_c.rollback_c(procedure_request, procedure, _asker(yes, json_out))
    incident_id = incident.finish(
        procedure,
        outcome.checks,
        downtime_s=option_c.downtime_s(procedure),
        data_loss=incident_log.data_lost(outcome.rollbacks) if outcome.ok else {},
        backup=outcome.backup,
        details={"restored": outcome.restored, "emergency": emergency, "error": outcome.error},
    )
    if json_out:
        print_json({**outcome.to_dict(), "incident": incident_id})
    else:
        for line in verify_cli.lines(outcome.checks):
            console.print(line, highlight=False)
    if outcome.restored:
        err_console.print(
            f"[bold red]ROLLBACK C FAILED AND WAS UNDONE:[/] {outcome.error}\n"
            f"[bold red]THE BACKUP WAS RESTORED AUTOMATICALLY:[/] {outcome.restore_detail}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(3)
    if outcome.database_changed and not outcome.ok:
        err_console.print(
            f"[bold red]ROLLBACK C FAILED; RESTORE FAILED TOO:[/] {outcome.restore_detail}", soft_wrap=True
        )
        raise typer.Exit(4)
    if not outcome.ok:
        if json_out:
            raise typer.Exit(1)
        fail(f"rollback c stopped, the database is unchanged: {outcome.error}")
    if not json_out:
        console.print(
            f"[green]rollback c: 005 and 004 rolled back (legacy mode), verified; "
            f"{procedure.seconds:.2f} s in all[/]",
            highlight=False,
        )
