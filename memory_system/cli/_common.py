"""What every CLI command shares: the --db option, one-line errors, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from memory_system.core.config import resolve_db_path
from memory_system.core.errors import StoreError
from memory_system.runtime import Runtime, open_runtime

console = Console()
err_console = Console(stderr=True)


def path_value(value: str | Path) -> Path:
    """A path typed on the command line. An empty one (``--dest ''``, an unset shell variable)
    is refused rather than taken as the current directory."""
    if isinstance(value, Path):
        return value
    if not value.strip():
        raise typer.BadParameter("must not be empty; give a file or folder path")
    return Path(value)


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        parser=path_value,
        help=(
            "SQLite database file (default: $MEMORY_SYSTEM_DB, else ~/.local/share/memory-system/memory.db)."
        ),
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")]


def db_path(option: Path | None) -> Path:
    return resolve_db_path(option)


@contextmanager
def open_database(path: Path, config_path: Path | None = None) -> Iterator[Runtime]:
    """A runtime on an existing database, closed on the way out; a database that cannot be
    opened is a one-line error."""
    try:
        runtime = open_runtime(path, config_path=config_path)
    except StoreError as exc:
        fail(str(exc))
    try:
        yield runtime
    finally:
        runtime.close()


@contextmanager
def open_migrated(option: Path | None, ready: Callable[[Runtime], bool], lacks: str) -> Iterator[Runtime]:
    """A runtime whose database has what the command needs; else one line saying to migrate."""
    path = db_path(option)
    with open_database(path) as runtime:
        if not ready(runtime):
            fail(f"{path} has {lacks}; run 'memory-system db migrate --db {path}' first")
        yield runtime


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr saying what was wrong and what to do, then exit non-zero."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
