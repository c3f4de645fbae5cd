"""Building ``Settings`` once at start from command-line options, environment and config file.

Precedence, highest first: a command-line option, the environment variable
``MEMORY_SYSTEM_<FIELD>`` (``MEMORY_SYSTEM_DB`` for the database), the JSON config file
(camelCase keys: ``adminToken``, ``maxBodyBytes``, ...), the default. Parsing is strict: a
value of the wrong type, an unknown key (a typo in ``adminToken`` would otherwise leave admin
endpoints silently disabled) or an unreadable file is a ``ConfigError`` naming the variable.

Feature flags live in the same file under ``featureFlags``; ``flags/`` parses that section.
"""

from __future__ import annotations

import contextlib
import json
import os
import typing
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from memory_system.core.config import ENV_DB, ConfigError, parse_bool, resolve_db_path
from memory_system.core.settings import DEFAULT_CONFIG_PATH, Settings
from memory_system.core.validation import InvalidValue, check_finite

ENV_PREFIX = "MEMORY_SYSTEM_"
ENV_CONFIG = "MEMORY_SYSTEM_CONFIG"
ENV_ADMIN_TOKEN = "MEMORY_SYSTEM_ADMIN_TOKEN"
MIN_ADMIN_TOKEN_LENGTH = 16

# Sections of the file that other modules parse; extend rather than loosen the check.
# tiers: memory/tiers/rules.py; typedStores: memory/typed/policy.py; alerts: ops/alerts/config.py
OTHER_SECTIONS = {"featureFlags", "injection", "tiers", "typedStores", "alerts"}
# Fields that say where things are or how the process was started, not what it does.
_NOT_IN_FILE = {"config_path", "dev", "extra"}
# Fields a SIGHUP may change in a running process; the rest need a restart.
RELOADABLE = ("admin_token", "max_body_bytes")


def resolve_config_path(option: str | Path | None, env: Mapping[str, str] | None = None) -> Path:
    """``--config``, else ``$MEMORY_SYSTEM_CONFIG``, else /etc/memory-system/config.json."""
    raw = option or (os.environ if env is None else env).get(ENV_CONFIG)
    return Path(str(raw)) if raw else DEFAULT_CONFIG_PATH


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def env_name(name: str) -> str:
    return ENV_DB if name == "db_path" else ENV_PREFIX + name.upper()


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings) if f.name not in _NOT_IN_FILE}


def _base_type(hint: Any) -> tuple[type, bool]:
    args = typing.get_args(hint)
    if args and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return inner, True
    return hint, False


def _coerce(name: str, hint: Any, raw: object) -> object:
    """``raw`` (a string from the environment or a JSON value) as the field's type."""
    kind, optional = _base_type(hint)
    if raw is None:
        if optional:
            return None
        raise ConfigError(f"{name} must not be null")
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            return parse_bool(name, raw)
    elif kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
    elif kind is float:
        number: float | None = None
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number = float(raw)
        elif isinstance(raw, str):
            with contextlib.suppress(ValueError):
                number = float(raw)
        if number is not None:
            try:
                return check_finite(number, name)
            except InvalidValue as exc:
                raise ConfigError(f"{name}={raw!r}: {exc.message}") from None
    elif kind in (str, Path):
        if isinstance(raw, str | Path) and str(raw).strip():
            return kind(raw)
    raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}")


def read_config_file(path: Path, *, required: bool = False) -> dict[str, Any]:
    """The file's JSON object; a missing file is ``{}`` unless the operator named it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file {path} does not exist; create it or drop --config") from None
        return {}
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f'config file {path} must hold a JSON object, e.g. {{"adminToken": "..."}}')
    return data


def _from_file(path: Path, data: Mapping[str, Any]) -> dict[str, object]:
    types = _field_types()
    by_key = {camel(name): name for name in types}
    values: dict[str, object] = {}
    for key, raw in data.items():
        if key in OTHER_SECTIONS:
            continue
        name = by_key.get(key)
        if name is None:
            known = ", ".join(sorted([*by_key, *OTHER_SECTIONS]))
            raise ConfigError(f"config file {path}: unknown key {key!r}; known keys: {known}")
        values[name] = _coerce(f"{path}: {key}", types[name], raw)
    return values


def load_settings(
    options: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Settings for one process. ``options`` are command-line values; ``None`` means not given."""
    options = {k: v for k, v in (options or {}).items() if v is not None}
    env = os.environ if env is None else env
    config_raw = options.get("config_path") or env.get(ENV_CONFIG)
    config_path = resolve_config_path(config_raw, env)  # type: ignore[arg-type]
    values: dict[str, object] = _from_file(
        config_path, read_config_file(config_path, required=bool(config_raw))
    )
    types = _field_types()
    for name, hint in types.items():
        raw = env.get(env_name(name))
        if raw is not None:
            values[name] = _coerce(env_name(name), hint, raw)
    for name, given in options.items():
        if name in types:
            option = {"db_path": "--db", "config_path": "--config"}.get(name, f"--{name.replace('_', '-')}")
            values[name] = _coerce(option, types[name], given)
    values["db_path"] = resolve_db_path(values.get("db_path"))  # type: ignore[arg-type]
    settings = Settings(config_path=config_path, dev=bool(options.get("dev", False)), **values)  # type: ignore[arg-type]
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if settings.admin_token is not None and len(settings.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
        raise ConfigError(
            f"the admin token ({ENV_ADMIN_TOKEN} or adminToken) has {len(settings.admin_token)} characters; "
            f"use at least {MIN_ADMIN_TOKEN_LENGTH}, e.g. from: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port {settings.port} is out of range 1..65535")
    if settings.max_body_bytes <= 0:
        raise ConfigError(f"maxBodyBytes={settings.max_body_bytes} must be positive")
    if settings.drain_timeout_s < 0 or settings.shutdown_delay_s < 0:
        raise ConfigError("drainTimeoutS and shutdownDelayS must not be negative")
    if settings.integrity_check_interval_s <= 0:
        raise ConfigError(
            f"integrityCheckIntervalS={settings.integrity_check_interval_s} must be positive: it is how "
            "often the service runs quick_check on its database"
        )
    if settings.memory_limit_mb is not None and settings.memory_limit_mb <= 0:
        raise ConfigError(
            f"memoryLimitMb={settings.memory_limit_mb} must be positive: it is the process memory "
            "the memory alerts compare resident memory against"
        )
    if settings.rag_timeout_ms <= 0:
        raise ConfigError(
            f"ragTimeoutMs={settings.rag_timeout_ms} must be positive: it is how long a search waits "
            "for the vector step before answering from full text alone"
        )


def reloadable_changes(current: Settings, fresh: Settings) -> dict[str, object]:
    """What a SIGHUP would change in a running process (only fields that can change live)."""
    return {
        name: getattr(fresh, name) for name in RELOADABLE if getattr(fresh, name) != getattr(current, name)
    }
