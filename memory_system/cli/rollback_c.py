"""``memory-system rollback c``: runbook option C (database to schema 3, legacy mode) as one
command, each step timed; on a failed check after the database changed, the backup is put
back automatically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
from memory_system.cli.rollback_a import print_step
from memory_system.core.config import ConfigError
from memory_system.core.logging import configure_logging
from memory_system.core.settings_loader import load_settings
from memory_system.ops.impact import Impact
from memory_system.ops.runbook import option_c
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


def c(
    db: DbOption = None,
    approved_by: Annotated[
        list[str] | None,
        typer.Option("--approved-by", help="An approver's name; give two different people."),
    ] = None,
    emergency: Annotated[
        bool,
        typer.Option(
            "--emergency", help="Waive the approvals and the second copy; logged at CRITICAL and recorded."
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
    json_out: JsonOption = False,
) -> None:
    """Stop the service, back up (verified, second copy), show the impact, roll back 005 and
    004 (each verified), start the service in legacy mode, verify C. Exit 0 only when all
    passed; on a failed check after the database changed, the backup is restored and the
    service started again as it was."""
    if second_copy is None:
        second_copy = _configured_second_copy(db)
    request = option_c.OptionCRequest(
        db_path=db_path(db),
        approved_by=tuple(approved_by or ()),
        emergency=emergency,
        backup_dir=backup_dir,
        second_copy=second_copy,
        admin_token=os.environ.get("MEMORY_SYSTEM_ADMIN_TOKEN"),
        agent_token=os.environ.get("MEMORY_SYSTEM_AGENT_TOKEN"),
        log_file=log_file,
    )
    configure_logging()  # the rollback's events go to stderr as JSON lines, as the service's do
    procedure = Procedure("c", report=(lambda step: None) if json_out else print_step)
    outcome = option_c.rollback_c(request, procedure, _asker(yes, json_out))
    if json_out:
        print_json(outcome.to_dict())
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
            f"[green]rollback c: schema 3 (legacy mode), verified; {procedure.seconds:.2f} s in all[/]",
            highlight=False,
        )
