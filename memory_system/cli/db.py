"""``memory-system db ...``: the runbook's database operations (section 5)."""

from __future__ import annotations

from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, print_json
from memory_system.ops import schema
from memory_system.store.errors import StoreError

app = typer.Typer(help="Database operations: migrate, status, backup, check, impact, rollback, restore.",
                  no_args_is_help=True)


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
    console.print(f"{path}: schema version {current.current_version} "
                  f"(code expects {current.expected_version}); {len(done)} migration(s) applied")


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
