"""``memory-system db ...``: the runbook's database operations (section 5)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

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
from memory_system.core.errors import StoreError
from memory_system.core.logging import configure_logging
from memory_system.ops import schema
from memory_system.ops.impact import Impact

EXIT_VERIFY_FAILED = 3  # the change was made but the checks after it failed: restore from the backup

app = typer.Typer(
    help="Database operations: migrate, status, backup, check, impact, rollback, restore.",
    no_args_is_help=True,
)


@app.command()
def migrate(
    db: DbOption = None,
    to: Annotated[int | None, typer.Option("--to", help="Stop after this migration version.")] = None,
    json_out: JsonOption = False,
) -> None:
    """Apply pending migrations in order, each in its own transaction."""
    path = db_path(db)
    try:
        done = schema.migrate(path, to)
        current = schema.status(path)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json({"applied": [m.version for m in done], **current.to_dict()})
        return
    for m in done:
        console.print(f"applied {m.version:03d}_{m.name}")
    console.print(
        f"{path}: schema version {current.current_version} "
        f"(code expects {current.expected_version}); {len(done)} migration(s) applied"
    )


@app.command()
def status(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Show applied and pending migrations and the schema version the code expects."""
    path = db_path(db)
    try:
        st = schema.status(path)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(st.to_dict())
        return
    for m in st.applied:
        console.print(f"[green]applied[/] {m['version']:03d}_{m['name']}  {m['applied_at']}")
    for m in st.pending:
        console.print(f"[yellow]pending[/] {m['version']:03d}_{m['name']}")
    console.print(f"schema version {st.current_version}, code expects {st.expected_version} ({st.state})")
    if st.state == "behind":
        raise typer.Exit(1)


@contextmanager
def _progress(enabled: bool = True) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr (silent when not a terminal); yields ``cb(stage, done, total)``."""
    labels = {"copy": "copying pages", "verify": "integrity_check", "checksum": "sha256"}
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not enabled or not err_console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield update


def _spinner(text: str) -> AbstractContextManager[object]:
    """A rich spinner on stderr for work without a measurable total; nothing when not a terminal."""
    return err_console.status(text) if err_console.is_terminal else nullcontext()


def _confirm(question: str) -> None:
    """Ask on stderr, read one line from stdin; anything but yes (or no stdin) refuses."""
    err_console.print(f"{question} [y/N] ", end="", markup=False, highlight=False)
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (OSError, ValueError):
        answer = ""
    if not answer:
        fail("no answer on stdin to confirm with; pass --yes to confirm non-interactively. Nothing changed.")
    if answer.strip().lower() not in {"y", "yes"}:
        fail("not confirmed; nothing changed")


@app.command()
def backup(
    db: DbOption = None,
    dest: Annotated[
        Path | None,
        typer.Option(
            "--dest",
            parser=path_value,
            help="Folder for the backup (default: backups/ next to the database).",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Online backup (safe while the service writes), checked and hashed; prints its path.

    Exit 0: the backup and its manifest are written and the copy passed integrity_check.
    Exit 1: no backup was kept; the error says why.
    """
    from memory_system.ops.backup import create_backup

    path = db_path(db)
    try:
        with _progress(not json_out) as update:
            made = create_backup(path, dest, progress=update)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(made.to_dict())
        return
    m = made.manifest
    err_console.print(
        f"backup ok: {m['size_bytes'] / 1e6:.1f} MB, schema {m['schema_version']}, "
        f"{sum(m['row_counts'].values())} rows, integrity ok, sha256 {m['sha256'][:12]}, {m['duration_s']} s",
        highlight=False,
    )
    typer.echo(str(made.path))


@app.command()
def check(
    db: DbOption = None,
    quick: Annotated[
        bool,
        typer.Option("--quick", help="quick_check instead of integrity_check (O(N) instead of O(N log N))."),
    ] = False,
    json_out: JsonOption = False,
) -> None:
    """integrity_check + foreign_key_check. Exit 0: both ok; exit 1: a line per problem."""
    from memory_system.ops.integrity import check as run_check

    path = db_path(db)
    try:
        with _spinner("integrity_check and foreign_key_check..."):
            result = run_check(path, quick=quick)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(result.to_dict())
    elif result.ok:
        console.print(f"{path}: integrity ok, foreign keys ok", markup=False, highlight=False, soft_wrap=True)
    else:
        for line in result.problems():
            err_console.print(f"[bold red]problem:[/] {escape(line)}", highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


MigrationOption = Annotated[int, typer.Option("--migration", help="Migration version, e.g. 004.")]


def _print_impact(result: Impact) -> None:
    table = Table(
        title=f"rolling back migration {result.migration:03d}_{result.name} "
        f"(applied {result.applied_at}) would drop"
    )
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("created after the migration", justify="right")
    for t in result.tables:
        table.add_row(t.table, str(t.rows), "-" if t.created_after is None else str(t.created_after))
    table.add_row("[bold]total[/]", str(result.total_rows), str(result.total_created_after))
    console.print(table)


@app.command()
def impact(migration: MigrationOption, db: DbOption = None, json_out: JsonOption = False) -> None:
    """What rolling back a migration would lose: rows per table, and rows created since it was applied.

    Exit 0: printed. Exit 1: the migration is not applied, or the database cannot be read.
    """
    from memory_system.ops.impact import impact as compute

    path = db_path(db)
    try:
        with _spinner("counting rows..."):
            result = compute(path, migration)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(result.to_dict())
    else:
        _print_impact(result)


@app.command()
def rollback(
    migration: Annotated[
        int, typer.Option("--migration", help="The migration to undo (the newest applied).")
    ],
    db: DbOption = None,
    backup_path: Annotated[
        Path | None,
        typer.Option(
            "--backup",
            parser=path_value,
            help="A backup of this database from 'db backup', made in the last hour.",
        ),
    ] = None,
    approved_by: Annotated[
        list[str] | None, typer.Option("--approved-by", help="An approver's name; give two different people.")
    ] = None,
    emergency: Annotated[
        bool,
        typer.Option(
            "--emergency", help="Waive the backup and approval requirements; logged at CRITICAL and recorded."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Roll back even while a service holds the database (restart it right after)."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Undo the newest migration in one transaction, then verify integrity, foreign keys and Phase 1.

    Exit 0: rolled back and verified. Exit 1: refused or failed, nothing changed.
    Exit 3: rolled back but a check after it failed: restore from the backup.
    """
    from memory_system.ops import db_rollback

    configure_logging()  # the rollback / restore events go to stderr as JSON lines
    path = db_path(db)
    try:
        plan = db_rollback.plan_rollback(
            path,
            migration,
            backup_path=backup_path,
            approved_by=approved_by or [],
            emergency=emergency,
            force=force,
        )
    except StoreError as exc:
        fail(str(exc))
    if not json_out:
        _print_impact(plan.impact)
    if plan.emergency:
        err_console.print(
            f"[bold red]EMERGENCY rollback: waived: {escape('; '.join(plan.waived) or 'nothing')}[/]",
            highlight=False,
            soft_wrap=True,
        )
    if plan.service_running:
        err_console.print(
            "[yellow]warning:[/] --force: a service holds this database; restart it right after"
        )
    if not yes:
        _confirm(f"Drop these {plan.impact.total_rows} rows of migration {migration:03d} from {path}?")
    try:
        with _spinner(f"rolling back migration {migration:03d}, then integrity and foreign key checks..."):
            result = db_rollback.execute_rollback(plan)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(result.to_dict())
    if not result.verified:
        for line in result.problems():
            err_console.print(f"[bold red]problem:[/] {escape(line)}", highlight=False, soft_wrap=True)
        backup_hint = plan.backup.path if plan.backup else "your latest backup"
        fail(
            f"rollback of {migration:03d} ran but verification failed; restore with "
            f"'memory-system db restore {backup_hint}'",
            EXIT_VERIFY_FAILED,
        )
    if not json_out:
        console.print(
            f"rolled back migration {migration:03d}: {sum(result.rows_lost.values())} rows dropped, "
            f"integrity ok, foreign keys ok, Phase 1 unchanged {result.phase_1_after}, "
            f"recorded as rollback #{result.record_id} in {result.duration_s} s",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def restore(
    backup_file: Annotated[
        Path, typer.Argument(metavar="BACKUP", parser=path_value, help="A backup file made by 'db backup'.")
    ],
    db: DbOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Restore even while a service holds the database (restart it right after)."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Replace the database by a verified backup; the current file is kept aside.

    Exit 0: restored. Exit 1: refused (bad backup, another database, service running), nothing changed.
    """
    from memory_system.ops import restore as restoring

    configure_logging()  # the rollback / restore events go to stderr as JSON lines
    path = db_path(db)
    try:
        with _progress(not json_out) as update:
            plan = restoring.plan_restore(path, backup_file, force=force, progress=update)
    except StoreError as exc:
        fail(str(exc))
    if not yes:
        _confirm(
            f"Replace {path} by {backup_file} (made {plan.backup.manifest['created_at']})? "
            "The current file is kept aside."
        )
    try:
        with _progress(not json_out) as update:
            result = restoring.execute_restore(plan, progress=update)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(result.to_dict())
        return
    aside = f"; previous file kept as {result.kept_aside}" if result.kept_aside else ""
    console.print(
        f"restored {path} from {backup_file} (schema {result.schema_version}, "
        f"{sum(result.row_counts.values())} rows){aside}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
