"""``memory-system rollout ...``: progressive rollout of a flag, 1% -> 10% -> 50% -> 100%.

Each command asks the running service's admin API (``/admin/rollouts``) when one answers, so
that its driver and its alerts see the change at once; when none can be reached it writes the
database directly (``flags/rollout.py`` either way), and a service started later continues
from the rows. Bad input is refused here before anything is asked or written.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
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
from memory_system.core.errors import StoreError
from memory_system.core.logging import configure_logging
from memory_system.core.settings_loader import ENV_ADMIN_TOKEN, resolve_config_path
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.rollout import (
    DEFAULT_HOLD,
    DEFAULT_STEPS,
    RolloutError,
    RolloutService,
    parse_hold,
    parse_steps,
)
from memory_system.flags.service import FlagService
from memory_system.flags.values import FlagError, check_name

app = typer.Typer(
    help="Progressive rollout of a flag: start, status, pause, resume, abort.",
    no_args_is_help=True,
)

FlagArgument = Annotated[str, typer.Argument(help=f"Flag name: {', '.join(FLAG_NAMES)}.", show_default=False)]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The running service (default: the one recorded in <db>.service.json, else "
        f"{ask_service.DEFAULT_URL}); the admin token comes from ${ENV_ADMIN_TOKEN}.",
        show_default=False,
    ),
]
ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor", help="Who does it, for the audit trail (default: your login name).", show_default=False
    ),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why, for the audit trail.")]


class _Refused(Exception):
    """The service answered with a refusal of the request itself (bad input, nothing to pause)."""


def _actor(option: str | None) -> str:
    if option is not None:
        return option
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _flag(name: str) -> str:
    try:
        return check_name(name, source="rollout")
    except FlagError as exc:
        fail(str(exc))


def _request(
    url: str, method: str, path: str, actor: str | None, body: dict[str, Any] | None
) -> dict[str, Any]:
    token = os.environ.get(ENV_ADMIN_TOKEN, "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if actor is not None:
        headers["X-Actor"] = actor
    try:
        response = httpx.request(
            method, url + path, json=body, headers=headers, timeout=ask_service.ASK_TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise ask_service.Unreachable(
            f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ) from exc
    if response.status_code in (401, 403):
        hint = f"set {ENV_ADMIN_TOKEN} to the service's admin token" if not token else "check the token"
        raise ask_service.Refused(
            f"the service at {url} refused the admin API (HTTP {response.status_code}); {hint}"
        )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ask_service.Unreachable(
            f"{method} {path} answered HTTP {response.status_code}, not a memory-system answer"
        )
    if response.is_success and ("rollouts" in answer or "flag" in answer):
        return answer
    detail = answer.get("detail")
    if isinstance(detail, dict) and str(detail.get("error", "")).startswith(("invalid_rollout", "rollout_")):
        raise _Refused(str(answer.get("message") or detail.get("message")))
    if response.status_code == 422:
        raise _Refused(str(answer.get("message")))
    raise ask_service.Unreachable(
        f"{method} {path} answered HTTP {response.status_code}: {answer.get('message')}"
    )


def _run(
    url: str | None,
    db: Path | None,
    method: str,
    path: str,
    actor: str | None,
    body: dict[str, Any] | None,
    direct: Callable[[RolloutService], Any],
) -> tuple[Any, dict[str, Any]]:
    """The service's answer; else, when no service answers, ``direct`` on the database."""
    service_url = ask_service.service_url(url, db)
    try:
        return _request(service_url, method, path, actor, body), {"url": service_url, "reachable": True}
    except ask_service.Refused as exc:
        fail(str(exc))
    except _Refused as exc:
        fail(f"{exc} (the service at {service_url} changed nothing)")
    except ask_service.Unreachable as exc:
        reason = str(exc)
    if method != "GET":
        configure_logging()  # feature_flag_changed and rollout_event go to stderr as JSON
    with open_database(db_path(db)) as runtime:
        flags = FlagService(runtime.db, {}, resolve_config_path(None), strict=False)
        try:
            result = direct(RolloutService(flags))
        except RolloutError as exc:
            fail(str(exc))
        except StoreError as exc:
            fail(str(exc))
    return result, {"url": service_url, "reachable": False, "error": reason}


def _warn_direct(service: dict[str, Any]) -> None:
    if not service["reachable"]:
        why = ask_service.unreachable_warning(service["url"], service["error"])
        err_console.print(
            f"[bold yellow]warning:[/] {escape(why)}; "
            "a service started on this database drives the rollout from these rows",
            highlight=False,
            soft_wrap=True,
        )


def _step(r: dict[str, Any]) -> str:
    return f"{r['step_index'] + 1}/{len(r['steps'])}"


def _summary(r: dict[str, Any]) -> str:
    line = f"{r['flag']}: rollout #{r['id']} {r['state']} at {r['value']:g} (step {_step(r)})"
    if r["next_step_at"]:
        line += f", next {r['next_value']:g} at {r['next_step_at']} if no CRITICAL alert fires"
    if r["reason"]:
        line += f"; {r['reason']}"
    if r["effective"] < r["value"] and r["state"] in ("running", "paused"):
        line += f" (evaluated {r['effective']:g}: its env or config file holds it lower)"
    return line


def _changed(result: Any, service: dict[str, Any], json_out: bool) -> None:
    _warn_direct(service)
    if json_out:
        print_json({"rollout": result, "service": service})
    else:
        console.print(_summary(result), highlight=False, soft_wrap=True)


@app.command()
def start(
    flag: FlagArgument,
    steps: Annotated[
        str, typer.Option("--steps", help="Rising fractions in (0, 1], comma-separated.")
    ] = ",".join(f"{s:g}" for s in DEFAULT_STEPS),
    hold: Annotated[
        str, typer.Option("--hold", help="How long each step is held: 30s, 5m, 1h, or seconds.")
    ] = DEFAULT_HOLD,
    db: DbOption = None,
    url: UrlOption = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Start a rollout: the flag goes to the first step now, and up one step after each hold in
    which no CRITICAL alert fired; the last step completes it."""
    name = _flag(flag)
    try:
        values, seconds = parse_steps(steps), parse_hold(hold)
    except RolloutError as exc:
        fail(f"--{exc.field}: {exc}")
    who = _actor(actor)
    result, service = _run(
        url,
        db,
        "POST",
        "/admin/rollouts",
        who,
        {"flag": name, "steps": values, "hold": seconds},
        lambda r: r.start(name, values, seconds, actor=who),
    )
    _changed(result, service, json_out)


@app.command()
def status(
    flag: Annotated[str | None, typer.Argument(help="Only this flag.", show_default=False)] = None,
    db: DbOption = None,
    url: UrlOption = None,
    json_out: JsonOption = False,
) -> None:
    """Each flag's newest rollout: state, step, next step at, reason; with FLAG, its events too."""
    name = None if flag is None else _flag(flag)
    path = "/admin/rollouts" + ("" if name is None else f"?flag={name}")
    answer, service = _run(url, db, "GET", path, None, None, lambda r: {"rollouts": r.status(name)})
    rollouts = answer["rollouts"]
    _warn_direct(service)
    if json_out:
        print_json({"rollouts": rollouts, "service": service})
        return
    if not rollouts:
        console.print(f"no rollout of {name or 'any flag'} yet", highlight=False)
        return
    table = new_table(
        "flag", "state", "step", "value", "next", "next step at", "effective", "reason", whole=("flag",)
    )
    for r in rollouts:
        table.add_row(
            r["flag"],
            r["state"],
            _step(r),
            f"{r['value']:g}",
            "-" if r["next_value"] is None else f"{r['next_value']:g}",
            r["next_step_at"] or "-",
            f"{r['effective']:g}",
            r["reason"] or "-",
        )
    print_table(console, table)
    if name is not None:
        events = new_table("when (UTC)", "event", "step", "value", "actor", "reason", whole=("when (UTC)",))
        for e in rollouts[0]["events"]:
            events.add_row(
                e["created_at"],
                e["event"],
                str(e["step_index"] + 1),
                f"{e['value']:g}",
                e["actor"],
                e["reason"] or "-",
            )
        print_table(console, events)


def _act(
    verb: str,
    flag: str,
    db: Path | None,
    url: str | None,
    actor: str | None,
    json_out: bool,
    reason: str | None = None,
) -> None:
    """pause, resume or abort: through the service's admin API when it answers, else the database."""
    name, who = _flag(flag), _actor(actor)
    kwargs: dict[str, Any] = {"actor": who} if reason is None else {"actor": who, "reason": reason}
    result, service = _run(
        url,
        db,
        "POST",
        f"/admin/rollouts/{name}/{verb}",
        who,
        None if reason is None else {"reason": reason},
        lambda r: getattr(r, verb)(name, **kwargs),
    )
    _changed(result, service, json_out)


@app.command()
def pause(
    flag: FlagArgument,
    reason: ReasonOption = "",
    db: DbOption = None,
    url: UrlOption = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Hold a running rollout at its step (the flag keeps the step's value) until resumed."""
    _act("pause", flag, db, url, actor, json_out, reason)


@app.command()
def resume(
    flag: FlagArgument,
    db: DbOption = None,
    url: UrlOption = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """Run a paused rollout again: the step's value back on the flag, its hold from now."""
    _act("resume", flag, db, url, actor, json_out)


@app.command()
def abort(
    flag: FlagArgument,
    reason: ReasonOption = "",
    db: DbOption = None,
    url: UrlOption = None,
    actor: ActorOption = None,
    json_out: JsonOption = False,
) -> None:
    """End a running or paused rollout and turn the flag off (0), as runbook option A does."""
    _act("abort", flag, db, url, actor, json_out, reason)
