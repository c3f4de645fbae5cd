"""``memory-system flags ...``: see and change feature flags, even while the service is down.

Changes go to the database, which every running service re-reads within a second; so
``flags rollback`` is the runbook's fastest rollback and needs nothing but the database file.
The ``env`` column shows this shell's environment; the running service's own view is
``GET /admin/feature-flags``.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, open_database, print_json
from memory_system.core.config import ConfigError
from memory_system.core.errors import StoreError
from memory_system.core.logging import configure_logging
from memory_system.core.settings import DEFAULT_CONFIG_PATH
from memory_system.core.settings_loader import ENV_CONFIG, resolve_config_path
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.service import FlagChange, FlagService
from memory_system.flags.sources import CONFIG_FILE, DATABASE, ENV
from memory_system.flags.values import describe

app = typer.Typer(
    help="Feature flags: show each source and the effective value, set one, roll all back, list changes.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=f"JSON config file (default: ${ENV_CONFIG}, else {DEFAULT_CONFIG_PATH}).",
        show_default=False,
    ),
]
ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        help="Who makes the change, for the audit trail (default: your login name).",
        show_default=False,
    ),
]


def _actor(option: str | None) -> str:
    if option is not None:
        return option
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _service(db: Path | None, config: Path | None) -> Iterator[FlagService]:
    """A non-strict service: a broken config file is reported, never a reason to refuse a rollback."""
    path = db_path(db)
    with open_database(path) as runtime:
        try:
            yield FlagService(runtime.db, os.environ, resolve_config_path(config), strict=False)
        except ConfigError as exc:
            fail(str(exc))
        except StoreError as exc:  # a missing table says to run 'db migrate'; the others say what to do
            fail(str(exc))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _report(changes: list[FlagChange], flags: FlagService, json_out: bool) -> None:
    if json_out:
        print_json({"changes": [c.to_dict() for c in changes], "effective": flags.values()})
        return
    for c in changes:
        console.print(
            f"{c.flag}: database {_fmt(c.old_value)} -> {_fmt(c.new_value)}; effective "
            f"{describe(c.effective_old_value)} -> {describe(c.effective_new_value)}",
            highlight=False,
        )
    console.print(f"{len(changes)} flag(s) changed; running services apply it within 1 s", highlight=False)


def _changing(
    action: Callable[[FlagService], list[FlagChange]], db: Path | None, config: Path | None, json_out: bool
) -> None:
    configure_logging()  # the feature_flag_changed line goes to stderr as JSON
    with _service(db, config) as flags:
        _report(action(flags), flags, json_out)


@app.command()
def show(db: DbOption = None, config: ConfigOption = None, json_out: JsonOption = False) -> None:
    """Each flag's value in each source (env, config file, database) and the effective value."""
    with _service(db, config) as flags:
        snap = flags.snapshot()
    if json_out:
        print_json(snap)
        return
    table = Table("flag", "env", "config file", "database", "effective", "state")
    for name, info in snap["flags"].items():
        src = info["sources"]
        table.add_row(
            name,
            _fmt(src[ENV]),
            _fmt(src[CONFIG_FILE]),
            _fmt(src[DATABASE]),
            _fmt(info["effective"]),
            info["state"],
        )
    console.print(table)
    console.print(f"precedence: {snap['precedence']}", highlight=False)
    if snap["env_error"]:
        console.print(f"[bold red]environment ignored here:[/] {snap['env_error']}", highlight=False)
    cfg = snap["config_file"]
    if cfg["error"]:
        console.print(f"[bold red]config file refused:[/] {cfg['error']}", highlight=False)
    elif not cfg["exists"]:
        console.print(f"config file {cfg['path']} does not exist (it sets nothing)", highlight=False)


@app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help=f"Flag name: {', '.join(FLAG_NAMES)}.", show_default=False)],
    value: Annotated[
        str,
        typer.Argument(
            help="true, false, or a fraction in [0, 1] (0.01 = 1% of sessions).", show_default=False
        ),
    ],
    db: DbOption = None,
    config: ConfigOption = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set a flag's database value; every running service applies it within 1 s."""
    _changing(lambda f: f.set(name, value, actor=_actor(actor), source="cli"), db, config, json_out)


@app.command()
def rollback(
    db: DbOption = None, config: ConfigOption = None, actor: ActorOption = None, json_out: JsonOption = False
) -> None:
    """Turn all three flags off (legacy mode) in the database: runbook option A."""
    _changing(lambda f: f.rollback_all(actor=_actor(actor), source="cli"), db, config, json_out)


@app.command()
def events(
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", help="How many events, newest first.")] = 50,
    flag: Annotated[str | None, typer.Option("--flag", help="Only this flag.", show_default=False)] = None,
    json_out: JsonOption = False,
) -> None:
    """The audit trail of flag changes, newest first."""
    with _service(db, None) as flags:
        rows = flags.events(limit, flag)
    if json_out:
        print_json(rows)
        return
    table = Table("when (UTC)", "flag", "old", "new", "source", "actor")
    for e in rows:
        table.add_row(
            e["created_at"], e["flag"], _fmt(e["old_value"]), _fmt(e["new_value"]), e["source"], e["actor"]
        )
    console.print(table)


@app.command()
def stats(
    db: DbOption = None,
    config: ConfigOption = None,
    window_minutes: Annotated[
        float, typer.Option("--window-minutes", help="A session seen within this is active.")
    ] = 30.0,
    json_out: JsonOption = False,
) -> None:
    """Active sessions per flag, how many have it on now, and time since its last change."""
    with _service(db, config) as flags:
        data: dict[str, Any] = flags.stats(window_minutes * 60)
    if json_out:
        print_json(data)
        return
    table = Table("flag", "effective", "active sessions", "enabled", "% enabled", "since last change")
    for name, s in data["flags"].items():
        since = s["seconds_since_last_change"]
        table.add_row(
            name,
            _fmt(s["effective"]),
            str(s["active_sessions"]),
            str(s["enabled_sessions"]),
            f"{s['percent_enabled']:g}",
            "never" if since is None else f"{since:.0f} s",
        )
    console.print(table)
