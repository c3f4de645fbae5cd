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
        mended = schema.mend(path) if path.exists() else []
        done = schema.migrate(path, to)
        current = schema.status(path)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(
            {"applied": [m.version for m in done], "mended": [m.version for m in mended], **current.to_dict()}
        )
        return
    for earlier in mended:
        console.print(
            f"mended {earlier.version:03d}: applied from its text at {earlier.commit}, now the current one "
            f"({earlier.change})",
            markup=False,
            soft_wrap=True,
        )
    for m in done:
        console.print(f"applied {m.version:03d}_{m.name}")
    console.print(
        f"{path}: schema version {current.current_version} "
        f"(code expects {current.expected_version}); {len(done)} migration(s) applied"
    )


@app.command()
def status(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Show applied and pending migrations, the schema version the code expects, and whether
    the tables match it. Exit 1 when behind or damaged; legacy mode (Phase 2-4 rolled back) is exit 0."""
    path = db_path(db)
    try:
        st = schema.status(path)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(st.to_dict())
    else:
        for m in st.applied:
            console.print(f"[green]applied[/] {m['version']:03d}_{m['name']}  {m['applied_at']}")
        for m in st.pending:
            console.print(f"[yellow]pending[/] {m['version']:03d}_{m['name']}")
        for line in st.mends:
            console.print(f"[yellow]mend[/] {escape(line)}", soft_wrap=True)
        for line in st.problems:
            err_console.print(f"[bold red]problem:[/] {escape(line)}", highlight=False, soft_wrap=True)
        console.print(f"schema version {st.current_version}, code expects {st.expected_version} ({st.state})")
        if st.state == "legacy":
            console.print(
                f"{schema.LEGACY_MODE}: Phase 2-4 tables rolled back; "
                f"'{schema.restore_command(path)}' restores them",
                markup=False,
                soft_wrap=True,
            )
    if st.state in ("behind", "damaged"):
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
    """integrity_check + foreign_key_check + the schema (every table the recorded version
    promises, every applied checksum). Exit 0: all ok; exit 1: a line per problem."""
    from memory_system.ops.integrity import check as run_check

    path = db_path(db)
    try:
        with _spinner("integrity_check, foreign_key_check and the schema..."):
            result = run_check(path, quick=quick)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(result.to_dict())
    elif result.ok:
        console.print(
            f"{path}: schema ok, integrity ok, foreign keys ok", markup=False, highlight=False, soft_wrap=True
        )
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
    request: Annotated[
        int | None,
        typer.Option(
            "--request", min=1, help="The approval request approved by a manager and a DBA (used up by this)."
        ),
    ] = None,
    request_approval: Annotated[
        bool,
        typer.Option(
            "--request-approval",
            help="Do not roll back: create an approval request for --migration (template filled in).",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="With --request-approval: why the rollback is needed.")
    ] = None,
    requested_by: Annotated[
        str | None,
        typer.Option(
            "--requested-by", help="With --request-approval: who asks (default: $USER).", show_default=False
        ),
    ] = None,
    expires_in: Annotated[
        float,
        typer.Option(
            "--expires-in", min=1, help="With --request-approval: minutes until the request expires."
        ),
    ] = 240,
    approved_by: Annotated[
        list[str] | None,
        typer.Option("--approved-by", help="Only with --emergency: a name of who agreed (free text)."),
    ] = None,
    emergency: Annotated[
        bool,
        typer.Option(
            "--emergency",
            help="Waive the backup and approval requirements; logged at CRITICAL and recorded; "
            "--approved-by names are accepted only with it.",
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

    if request_approval:
        from memory_system.cli.approve import create_request
        from memory_system.ops.approvals import DB_ROLLBACK

        if request is not None or approved_by or emergency:
            fail("--request-approval only creates a request: leave out --request, --approved-by, --emergency")
        create_request(
            db,
            action=DB_ROLLBACK,
            reason=reason,
            requested_by=requested_by,
            expires_in_minutes=expires_in,
            migration=migration,
            backup_path=backup_path,
            json_out=json_out,
        )
        return
    configure_logging()  # the rollback / restore events go to stderr as JSON lines
    path = db_path(db)
    try:
        plan = db_rollback.plan_rollback(
            path,
            migration,
            backup_path=backup_path,
            approved_by=approved_by or [],
            request_id=request,
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
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Who restores, for the flag audit trail (default: your login name)."),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Replace the database by a verified backup; the current file is kept aside.

    The feature-flag values come back from the backup: the flags that change are shown before
    asking. The audit trail is kept: flag events and rollback records the backup lacks are
    carried into the restored file, with a 'restore' event per flag.

    Exit 0: restored. Exit 1: refused (bad backup, another database, service running), nothing changed.
    """
    import getpass

    from memory_system.ops import restore as restoring

    configure_logging()  # the rollback / restore events go to stderr as JSON lines
    path = db_path(db)
    try:
        with _progress(not json_out) as update:
            plan = restoring.plan_restore(path, backup_file, force=force, progress=update)
    except StoreError as exc:
        fail(str(exc))
    _print_flag_layers(plan, to_stderr=json_out)
    if not yes:
        changed = len(plan.flag_changes())
        _confirm(
            f"Replace {path} by {backup_file} (made {plan.backup.manifest['created_at']})"
            + (f", changing {changed} flag value(s) as shown" if changed else "")
            + "? The current file is kept aside."
        )
    if actor is None:
        try:
            actor = getpass.getuser()
        except (KeyError, OSError):
            actor = "cli"
    try:
        with _progress(not json_out) as update:
            result = restoring.execute_restore(plan, actor=actor, progress=update)
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
    if result.kept_aside is not None:
        console.print(
            f"audit trail kept: {result.flag_events_carried} flag event(s) and "
            f"{result.rollback_records_carried} rollback record(s) carried over; the restore is "
            "recorded in 'memory-system flags events' (source restore)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _print_flag_layers(plan: object, *, to_stderr: bool) -> None:
    """The database flag layer now and after the restore (the backup's), before asking."""
    from memory_system.cli._tables import new_table, print_table
    from memory_system.ops.restore import RestorePlan

    assert isinstance(plan, RestorePlan)  # imported here, as the command imports ops lazily
    out = err_console if to_stderr else console
    if plan.flags_after is None:
        out.print("the backup has no feature-flag tables (schema before 003)", highlight=False)
        return
    now = plan.flags_now or {}
    table = new_table("flag", "now (database)", "after restore", title="database flag layer", whole=("flag",))
    changes = plan.flag_changes()
    for name, after in plan.flags_after.items():
        current = "unreadable" if plan.flags_now is None else _flag_text(now.get(name))
        mark = " [bold yellow](changes)[/]" if name in changes and plan.flags_now is not None else ""
        table.add_row(name, current, _flag_text(after) + mark)
    print_table(out, table)
    if not changes:
        out.print("no flag value changes: the backup's flag layer is the current one", highlight=False)


def _flag_text(value: float | None) -> str:
    from memory_system.flags.values import describe

    return "- (not set: on)" if value is None else f"{value:g} ({describe(value)})"


rollbacks_app = typer.Typer(
    help="Rollback records (db rollback: who approved, backup, rows lost, verified) and data-loss records.",
    invoke_without_command=True,
)
app.add_typer(rollbacks_app, name="rollbacks")
RecordIdOption = Annotated[
    int | None, typer.Option("--id", help="Only this rollback record, with its details.", show_default=False)
]


@rollbacks_app.callback()
def rollbacks(
    ctx: typer.Context, db: DbOption = None, record_id: RecordIdOption = None, json_out: JsonOption = False
) -> None:
    """List rollback records (id, when, migration, approved by, emergency, backup, rows lost per
    table, verified) and data-loss records; 'db rollbacks show ID' or --id for one in detail."""
    if ctx.invoked_subcommand is not None:
        return
    if record_id is not None:
        _show_rollback(db, record_id, json_out)
        return
    from memory_system.cli._tables import new_table, print_table
    from memory_system.ops.rollback_log import read_log

    path = db_path(db)
    try:
        log = read_log(path)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(log)
        return
    table = new_table(
        "id",
        "when (UTC)",
        "migration",
        "approved by",
        "emergency",
        "backup",
        "rows lost",
        "verified",
        title=f"rollback records in {path}",
        whole=("id", "when (UTC)", "backup"),
    )
    for r in log["rollbacks"]:
        table.add_row(
            str(r["id"]),
            r["created_at"],
            f"{r['migration']:03d}",
            ", ".join(r["approved_by"]) or "-",
            "yes" if r["emergency"] else "no",
            r["backup_path"] or "-",
            _rows_lost(r["rows_lost"]),
            _verified(r["details"]),
        )
    print_table(console, table)
    if not log["rollbacks"]:
        console.print("no rollback recorded", highlight=False)
    if log["data_loss"]:
        losses = new_table(
            "incident",
            "started (UTC)",
            "type",
            "data loss",
            title="data-loss records",
            whole=("started (UTC)",),
        )
        for i in log["data_loss"]:
            losses.add_row(str(i["id"]), i["started_at"], i["incident_type"], _loss_text(i["data_loss"]))
        print_table(console, losses)
    else:
        console.print("no data loss recorded by an incident", highlight=False)


@rollbacks_app.command("show")
def rollbacks_show(
    record_id: Annotated[int, typer.Argument(metavar="ID", help="The id 'db rollbacks' lists.")],
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """One rollback record in detail: approvals, backup and its checksum, rows lost, checks."""
    _show_rollback(db, record_id, json_out)


def _show_rollback(db: Path | None, record_id: int, json_out: bool) -> None:
    import json

    from memory_system.ops.rollback_log import read_record

    try:
        r = read_record(db_path(db), record_id)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json(r)
        return
    details = r["details"] if isinstance(r["details"], dict) else {}
    lines = [
        f"rollback record {r['id']}: migration {r['migration']:03d} at {r['created_at']}",
        f"approved by: {', '.join(r['approved_by']) or '-'}; emergency: {'yes' if r['emergency'] else 'no'}"
        + (f" (waived: {'; '.join(details['waived'])})" if details.get("waived") else ""),
        f"backup: {r['backup_path'] or '-'} (sha256 {details.get('backup_sha256') or '-'})",
        f"rows lost: {_rows_lost(r['rows_lost'])} ({_total(r['rows_lost'])} in all)",
        f"verified: {_verified(details)}",
    ]
    for problem in details.get("problems") or []:
        lines.append(f"problem: {problem}")
    if "phase_1_before" in details:
        lines.append(f"Phase 1 before: {details['phase_1_before']}; after: {details.get('phase_1_after')}")
    if details.get("carried_from"):
        lines.append(f"carried by a restore from {details['carried_from']}")
    shown = {
        "backup_sha256",
        "waived",
        "problems",
        "phase_1_before",
        "phase_1_after",
        "verified",
        "carried_from",
    }
    rest = {k: v for k, v in details.items() if k not in shown}
    if rest:
        lines.append(f"other details: {json.dumps(rest, default=str)}")
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _rows_lost(rows: object) -> str:
    if not isinstance(rows, dict) or not rows:
        return "-"
    return ", ".join(f"{table} {count}" for table, count in rows.items())


def _total(rows: object) -> int:
    return sum(v for v in rows.values() if isinstance(v, int)) if isinstance(rows, dict) else 0


def _verified(details: object) -> str:
    value = details.get("verified") if isinstance(details, dict) else None
    return "unknown" if value is None else ("yes" if value else "NO")


def _loss_text(loss: object) -> str:
    import json

    return loss if isinstance(loss, str) else json.dumps(loss, default=str)
