"""``memory-system flags ...``: what the running service evaluates, and changes that work with it down.

``show`` and ``stats`` ask the running service (``GET /admin/feature-flags`` and ``/stats``):
a flag's effective value depends on the service's own environment, which this shell cannot
see, so reading the sources here would confirm a rollback that did not happen. This shell's
``USE_*`` variables are shown only as "this shell", with a warning where they differ from the
service. Only when the service cannot be reached is the database layer (and the config file)
read directly, and said to be that.

``set`` and ``rollback`` write the database, which every running service re-reads within a
second, so they need nothing but the database file (runbook option A with the service
down); then, when the service answers, they wait until it reports the new value.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from memory_system.cli import _ask_service as ask_service
from memory_system.cli._common import (
    DbOption,
    JsonOption,
    console,
    db_path,
    err_console,
    fail,
    open_database,
    print_json,
)
from memory_system.cli._tables import new_table, print_table
from memory_system.core.config import ConfigError
from memory_system.core.errors import StoreError
from memory_system.core.logging import configure_logging
from memory_system.core.settings import DEFAULT_CONFIG_PATH
from memory_system.core.settings_loader import ENV_ADMIN_TOKEN, ENV_CONFIG, resolve_config_path
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.service import FlagChange, FlagService
from memory_system.flags.sources import CONFIG_FILE, DATABASE, ENV
from memory_system.flags.values import check_name, describe

app = typer.Typer(
    help="Feature flags: what the running service evaluates, set one, roll all back, list changes.",
    no_args_is_help=True,
)

EXIT_NOT_CONFIRMED = 3  # written to the database, but the reachable service did not report it

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=f"JSON config file, read only when the service is down (default: ${ENV_CONFIG}, "
        f"else {DEFAULT_CONFIG_PATH}).",
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
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The running service (default: the one recorded in <db>.service.json, else "
        f"{ask_service.DEFAULT_URL}); "
        f"the admin token comes from ${ENV_ADMIN_TOKEN}.",
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


def _warn(lines: list[str]) -> None:
    for line in lines:
        err_console.print(f"[bold yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)


@contextmanager
def _database(db: Path | None, config: Path | None) -> Iterator[FlagService]:
    """The database layer and the config file, without this shell's environment (a service has
    its own); non-strict: a broken config file is reported, never a reason to refuse a rollback."""
    path = db_path(db)
    with open_database(path) as runtime:
        try:
            yield FlagService(runtime.db, {}, resolve_config_path(config), strict=False)
        except ConfigError as exc:
            fail(str(exc))
        except StoreError as exc:  # a missing table says to run 'db migrate'; the others say what to do
            fail(str(exc))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _shell_cell(shell: dict[str, dict[str, Any]], name: str) -> str:
    info = shell.get(name)
    return "-" if info is None else str(info["raw"])


def _report(
    changes: list[FlagChange], targets: dict[str, float | None], service: dict[str, Any], json_out: bool
) -> None:
    if json_out:
        print_json({"changes": [c.to_dict() for c in changes], "database": targets, "service": service})
    else:
        for c in changes:
            console.print(f"{c.flag}: database {_fmt(c.old_value)} -> {_fmt(c.new_value)}", highlight=False)
        console.print(f"{len(changes)} flag(s) changed in the database", highlight=False)
    if service["confirmed"]:
        for name, value in targets.items():
            effective = service["effective"][name]
            held = "" if effective == value else f" (its env or config file holds it below {_fmt(value)})"
            line = f"service confirms: {name} = {describe(effective)}{held}"
            if json_out:
                err_console.print(line, highlight=False, soft_wrap=True)
            else:
                console.print(line, highlight=False, soft_wrap=True)
    elif not service["reachable"]:
        _warn(
            [
                f"service at {service['url']} not reachable ({service['error']}): the database is changed; "
                "a service started on it evaluates the new value from its first request"
            ]
        )
    else:
        _warn([str(service["error"])])


def _changing(
    action: Callable[[FlagService], list[FlagChange]],
    names: Callable[[], list[str]],
    db: Path | None,
    config: Path | None,
    url: str | None,
    json_out: bool,
) -> None:
    configure_logging()  # the feature_flag_changed line goes to stderr as JSON
    service_url = ask_service.service_url(url, db)
    with _database(db, config) as flags:
        changes = action(flags)
        targets = {name: flags.sources(name)[DATABASE] for name in names()}
    service = ask_service.confirm(service_url, targets)
    _report(changes, targets, service, json_out)
    if service["reachable"] and not service["confirmed"] and not service.get("refused"):
        raise typer.Exit(EXIT_NOT_CONFIRMED)


def _service_or_database(
    url: str | None,
    db: Path | None,
    path: str,
    params: dict[str, Any] | None,
    read: Callable[[], dict[str, Any]],
) -> tuple[str, dict[str, Any], str | None]:
    """The service's answer at ``path``; else, when it cannot be reached, ``read()`` of the database
    layer and why the service was not asked. A service that refuses (no or wrong token) is an error."""
    service_url = ask_service.service_url(url, db)
    try:
        return service_url, ask_service.ask(service_url, path, params), None
    except ask_service.Refused as exc:
        fail(str(exc))
    except ask_service.Unreachable as exc:
        return service_url, read(), str(exc)


@app.command()
def show(
    db: DbOption = None, config: ConfigOption = None, url: UrlOption = None, json_out: JsonOption = False
) -> None:
    """Each flag as the running service evaluates it: its env, config file, database, effective value.

    This shell's own USE_* variables are shown apart, as "this shell". When the service cannot
    be reached, the database layer and the config file are read directly, and it says so.
    """

    def database() -> dict[str, Any]:
        with _database(db, config) as flags:
            return flags.snapshot()

    shell = ask_service.this_shell()
    service_url, snap, reason = _service_or_database(url, db, "/admin/feature-flags", None, database)
    effective = {name: info["effective"] for name, info in snap["flags"].items()}
    if reason is None:
        warnings = ask_service.shell_warnings(shell, effective)
    else:
        warnings = [ask_service.unreachable_warning(service_url, reason)] + [
            f"this shell's {name}={info['raw']} is not part of the values shown: a service evaluates "
            "its own environment"
            for name, info in shell.items()
        ]
    if json_out:
        print_json(
            {
                **snap,
                "evaluated_by": "service" if reason is None else "database",
                "service": {"url": service_url, "reachable": reason is None, "error": reason},
                "this_shell": shell,
                "warnings": warnings,
            }
        )
        _warn(warnings)
        return
    _warn(warnings)
    if reason is None:
        console.print(f"as the service at {service_url} evaluates them:", highlight=False, soft_wrap=True)
        table = new_table(
            "flag", "service env", "config file", "database", "effective", "state", "this shell"
        )
    else:
        console.print("database layer and config file (no service asked):", highlight=False)
        table = new_table(
            "flag", "config file", "database", "db + config", "state", "this shell", whole=("flag",)
        )
    for name, info in snap["flags"].items():
        src = info["sources"]
        cells = [_fmt(src[CONFIG_FILE]), _fmt(src[DATABASE]), _fmt(info["effective"]), info["state"]]
        if reason is None:
            cells.insert(0, _fmt(src[ENV]))
        table.add_row(name, *cells, _shell_cell(shell, name))
    print_table(console, table)
    for info in shell.values():
        if "error" in info:
            console.print(f"[bold red]this shell's environment:[/] {escape(info['error'])}", highlight=False)
    console.print(f"precedence: {snap['precedence']}", highlight=False)
    if snap["env_error"]:
        console.print(f"[bold red]service environment refused:[/] {snap['env_error']}", highlight=False)
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
    url: UrlOption = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set a flag's database value, then wait (3 s at most) until the running service reports it.

    Exit 0: written (confirmed, or no service is running, or it refused the admin token: a
    warning says so). Exit 1: refused, nothing changed. Exit 3: written, but the service that
    answers did not report it within 3 s.
    """
    _changing(
        lambda f: f.set(name, value, actor=_actor(actor), source="cli"),
        lambda: [check_name(name, source="cli")],
        db,
        config,
        url,
        json_out,
    )


@app.command()
def rollback(
    db: DbOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Turn all three flags off (legacy mode) in the database, then wait until the service reports
    them off: runbook option A. Exit codes as for 'flags set'."""
    _changing(
        lambda f: f.rollback_all(actor=_actor(actor), source="cli"),
        lambda: list(FLAG_NAMES),
        db,
        config,
        url,
        json_out,
    )


@app.command()
def events(
    db: DbOption = None,
    limit: Annotated[int, typer.Option("--limit", help="How many events, newest first.")] = 50,
    flag: Annotated[str | None, typer.Option("--flag", help="Only this flag.", show_default=False)] = None,
    json_out: JsonOption = False,
) -> None:
    """The audit trail of flag changes, newest first."""
    with _database(db, None) as flags:
        rows = flags.events(limit, flag)
    if json_out:
        print_json(rows)
        return
    table = new_table("when (UTC)", "flag", "old", "new", "source", "actor", whole=("when (UTC)", "flag"))
    for e in rows:
        table.add_row(
            e["created_at"], e["flag"], _fmt(e["old_value"]), _fmt(e["new_value"]), e["source"], e["actor"]
        )
    print_table(console, table)


@app.command()
def stats(
    db: DbOption = None,
    config: ConfigOption = None,
    url: UrlOption = None,
    window_minutes: Annotated[
        float | None,
        typer.Option(
            "--window-minutes",
            help="A session seen within this is active (default: the service's window, 30 min).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Per flag, as the running service counts them: active sessions, how many have it on now,
    and time since its last change (the database directly only when the service is down)."""
    if window_minutes is not None and not 0 < window_minutes <= 30 * 24 * 60:
        fail(f"--window-minutes must be above 0 and at most {30 * 24 * 60} (30 days), got {window_minutes:g}")

    def database() -> dict[str, Any]:
        with _database(db, config) as flags:
            return flags.stats(None if window_minutes is None else window_minutes * 60)

    shell = ask_service.this_shell()
    params = None if window_minutes is None else {"window_minutes": window_minutes}
    service_url, data, reason = _service_or_database(url, db, "/admin/feature-flags/stats", params, database)
    effective = {name: s["effective"] for name, s in data["flags"].items()}
    warnings = (
        ask_service.shell_warnings(shell, effective)
        if reason is None
        else [ask_service.unreachable_warning(service_url, reason)]
    )
    _warn(warnings)
    if json_out:
        print_json(
            {
                **data,
                "evaluated_by": "service" if reason is None else "database",
                "service": {"url": service_url, "reachable": reason is None, "error": reason},
                "this_shell": shell,
                "warnings": warnings,
            }
        )
        return
    if reason is None:
        console.print(f"as the service at {service_url} counts them:", highlight=False, soft_wrap=True)
    else:
        console.print("database layer and config file (no service asked):", highlight=False)
    table = new_table(
        "flag",
        "effective",
        "active sessions",
        "enabled",
        "% enabled",
        "since last change",
        "this shell",
        whole=("flag",),
    )
    for name, st in data["flags"].items():
        since = st["seconds_since_last_change"]
        table.add_row(
            name,
            _fmt(st["effective"]),
            str(st["active_sessions"]),
            str(st["enabled_sessions"]),
            f"{st['percent_enabled']:g}",
            "never" if since is None else f"{since:.0f} s",
            _shell_cell(shell, name),
        )
    print_table(console, table)
