"""What the running service evaluates, asked over its admin API (for ``memory-system flags``).

A flag's effective value depends on the service's own environment, which the shell running
the CLI cannot see; so the CLI asks the service, and shows this shell's ``USE_*`` variables
only as "this shell", with a warning where they differ.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx

from memory_system.cli._common import db_path, fail
from memory_system.core.settings_loader import ENV_ADMIN_TOKEN
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.sources import DATABASE
from memory_system.flags.values import FlagError, describe, parse_value
from memory_system.ops.service_record import ServiceControlError, read_start
from memory_system.ops.service_record import service_url as recorded_url

DEFAULT_URL = "http://127.0.0.1:8080"
ASK_TIMEOUT_S = 3.0
CONFIRM_WITHIN_S = 3.0  # services re-read the database every 0.5 s: 3 s is six chances


class Unreachable(Exception):
    """No answer, or not an answer of a memory-system service: read the database instead."""


class Refused(Exception):
    """The service answered but will not say (no or wrong admin token)."""


def service_url(option: str | None, db: Path | None) -> str:
    """``--url``, else where ``serve`` recorded it listens for this database, else the default."""
    if option is not None:
        if not option.strip().startswith(("http://", "https://")):
            fail(f"--url {option!r} is not an http(s) URL; give one like {DEFAULT_URL}")
        return option.strip().rstrip("/")
    try:
        return recorded_url(read_start(db_path(db)))
    except ServiceControlError:  # absent, half-written or foreign: not a URL
        return DEFAULT_URL


def ask(url: str, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    token = os.environ.get(ENV_ADMIN_TOKEN, "").strip()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(url + path, params=params, headers=headers, timeout=ASK_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
    if response.status_code in (401, 403):
        hint = f"set {ENV_ADMIN_TOKEN} to the service's admin token" if not token else "check the token"
        raise Refused(f"the service at {url} refused to show its flags (HTTP {response.status_code}); {hint}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "flags" not in body:
        raise Unreachable(f"GET {path} answered HTTP {response.status_code}, not a memory-system answer")
    return body


def this_shell() -> dict[str, dict[str, Any]]:
    """This shell's USE_* variables: raw text and the value they would mean (None if invalid)."""
    shell: dict[str, dict[str, Any]] = {}
    for name in FLAG_NAMES:
        raw = os.environ.get(name)
        if raw is None or not raw.strip():
            continue
        try:
            shell[name] = {"raw": raw, "value": parse_value(raw, flag=name, source="this shell")}
        except FlagError as exc:
            shell[name] = {"raw": raw, "value": None, "error": str(exc)}
    return shell


def shell_warnings(shell: dict[str, dict[str, Any]], effective: dict[str, float]) -> list[str]:
    return [
        f"this shell's {name}={info['raw']} does not reach the running service "
        f"(it evaluates {name} = {describe(effective[name])})"
        for name, info in shell.items()
        if info["value"] != effective.get(name)
    ]


def unreachable_warning(url: str, reason: str) -> str:
    return (
        f"service at {url} not reachable ({reason}): showing the database layer directly, "
        "which is not what a running service evaluates"
    )


def confirm(url: str, targets: dict[str, float | None]) -> dict[str, Any]:
    """Poll the service until it reports ``targets`` as its database values (bounded)."""
    answer: dict[str, Any] = {
        "url": url,
        "reachable": True,
        "confirmed": False,
        "effective": None,
        "error": None,
    }
    started = time.monotonic()
    while True:
        try:
            snap = ask(url, "/admin/feature-flags")
        except Unreachable as exc:
            return {**answer, "reachable": False, "error": str(exc)}
        except Refused as exc:  # written all the same; only the confirmation is missing
            return {**answer, "refused": True, "error": f"{exc}; the database is changed, not confirmed"}
        flags = snap["flags"]
        answer["effective"] = {name: flags[name]["effective"] for name in targets if name in flags}
        if all(name in flags and flags[name]["sources"][DATABASE] == v for name, v in targets.items()):
            return {**answer, "confirmed": True, "waited_s": round(time.monotonic() - started, 3)}
        if time.monotonic() - started > CONFIRM_WITHIN_S:
            return {
                **answer,
                "error": f"the service at {url} did not report the new database value within "
                f"{CONFIRM_WITHIN_S:g} s: does it run on this database? (check --url and --db)",
            }
        time.sleep(0.1)
