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
from memory_system.core.settings import DEFAULT_CONFIG_PATH, NotificationSettings, Settings
from memory_system.core.validation import InvalidValue, check_finite

ENV_PREFIX = "MEMORY_SYSTEM_"
ENV_CONFIG = "MEMORY_SYSTEM_CONFIG"
ENV_ADMIN_TOKEN = "MEMORY_SYSTEM_ADMIN_TOKEN"
MIN_ADMIN_TOKEN_LENGTH = 16

# Sections of the file that other modules parse; extend rather than loosen the check.
# tiers: memory/tiers/rules.py; typedStores: memory/typed/policy.py; alerts: ops/alerts/config.py
# notifications: parsed here (load_notification_settings) into Settings.notifications
OTHER_SECTIONS = {"featureFlags", "injection", "tiers", "typedStores", "alerts", "notifications"}
# Fields that say where things are or how the process was started, not what it does.
_NOT_IN_FILE = {"config_path", "dev", "extra", "notifications"}
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
    file_data = read_config_file(config_path, required=bool(config_raw))
    values: dict[str, object] = _from_file(config_path, file_data)
    values["notifications"] = load_notification_settings(file_data.get("notifications", {}), env)
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
    if settings.rollout_check_interval_s <= 0:
        raise ConfigError(
            f"rolloutCheckIntervalS={settings.rollout_check_interval_s} must be positive: it is how "
            "often the service looks at running rollouts' holds"
        )
    if settings.index_memory_mb is not None and settings.index_memory_mb <= 0:
        raise ConfigError(
            f"indexMemoryMb={settings.index_memory_mb} must be positive (MB of index memory); "
            "leave it unset for no bound"
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


ENV_NOTIFY_PREFIX = "MEMORY_SYSTEM_NOTIFY_"
ENV_SMTP_PASSWORD = "MEMORY_SYSTEM_SMTP_PASSWORD"
_NOTIFY_SECTION = "notifications"


def _notify_key(name: str) -> str:
    return f"{_NOTIFY_SECTION}.{camel(name)} ({ENV_NOTIFY_PREFIX}{name.upper()})"


def _notify_value(name: str, kind: Any, raw: object, where: str) -> object:
    """One value of the ``notifications`` section, from the file (JSON) or the environment (text)."""
    base, optional = _base_type(kind)
    if typing.get_origin(base) is tuple:
        if isinstance(raw, str):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            return tuple(item.strip() for item in raw if item.strip())
        raise ConfigError(f"{where} must be a list of email addresses (env: comma-separated), got {raw!r}")
    if optional and (raw is None or (isinstance(raw, str) and not raw.strip())):
        return None
    if base is str:
        if isinstance(raw, str):
            return raw.strip()
        raise ConfigError(f"{where} must be text, got {raw!r}")
    return _coerce(where, kind, raw)


def load_notification_settings(section: object, env: Mapping[str, str]) -> NotificationSettings:
    """The ``notifications`` section of the config file, each key overridden by its
    ``MEMORY_SYSTEM_NOTIFY_<KEY>`` variable, checked as a whole: a bad URL, port, address or a
    half-configured email channel is a ``ConfigError`` naming the key."""
    if not isinstance(section, Mapping):
        raise ConfigError(f'{_NOTIFY_SECTION} must be a JSON object, e.g. {{"webhookUrl": "https://..."}}')
    hints = typing.get_type_hints(NotificationSettings)
    names = [f.name for f in fields(NotificationSettings) if f.name != "smtp_password"]
    by_key = {camel(name): name for name in names}
    values: dict[str, object] = {}
    for key, raw in section.items():
        if key == "smtpPassword":
            raise ConfigError(
                f"{_NOTIFY_SECTION}.smtpPassword is not read from the config file; set {ENV_SMTP_PASSWORD} "
                "in the service's environment (e.g. /etc/memory-system/env) instead"
            )
        name = by_key.get(key)
        if name is None:
            raise ConfigError(
                f"{_NOTIFY_SECTION}.{key} is not a notification setting; known: {', '.join(sorted(by_key))}"
            )
        values[name] = _notify_value(name, hints[name], raw, f"{_NOTIFY_SECTION}.{key}")
    for name in names:
        raw_env = env.get(ENV_NOTIFY_PREFIX + name.upper())
        if raw_env is not None:
            values[name] = _notify_value(name, hints[name], raw_env, ENV_NOTIFY_PREFIX + name.upper())
    password = env.get(ENV_SMTP_PASSWORD) or None
    notify = NotificationSettings(smtp_password=password, **values)  # type: ignore[arg-type]
    _validate_notifications(notify)
    return notify


def _check_address(address: str, where: str) -> None:
    local, at, domain = address.partition("@")
    if not at or not local or not domain or any(c.isspace() or c in ",;<>" for c in address):
        raise ConfigError(f"{where}: {address!r} is not an email address (name@example.com)")


def _validate_notifications(n: NotificationSettings) -> None:
    from urllib.parse import urlsplit

    if n.webhook_url is not None:
        url = urlsplit(n.webhook_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                f"{_notify_key('webhook_url')} must be an http:// or https:// URL with a host "
                '(a Slack incoming webhook, or any service taking {"text": ...})'
            )
    if not 0 < n.smtp_port < 65536:
        raise ConfigError(f"{_notify_key('smtp_port')}={n.smtp_port} is out of range 1..65535")
    if n.timeout_s <= 0:
        raise ConfigError(
            f"{_notify_key('timeout_s')}={n.timeout_s} must be positive (seconds a send may take)"
        )
    if not 1 <= n.max_attempts <= 100:
        raise ConfigError(f"{_notify_key('max_attempts')}={n.max_attempts} must be in 1..100")
    for name in ("oncall_recipients", "leadership_recipients"):
        for address in getattr(n, name):
            _check_address(address, _notify_key(name))
    if n.smtp_from is not None:
        _check_address(n.smtp_from, _notify_key("smtp_from"))
    has_recipients = bool(n.oncall_recipients or n.leadership_recipients)
    if n.smtp_host is None:
        if has_recipients or n.smtp_from or n.smtp_username:
            raise ConfigError(
                f"email recipients or sender are set but {_notify_key('smtp_host')} is not: "
                "name the SMTP relay, or remove the email settings"
            )
        return
    if n.smtp_from is None:
        raise ConfigError(f"{_notify_key('smtp_from')} is required with smtpHost: the sender address")
    if not has_recipients:
        raise ConfigError(
            f"{_notify_key('oncall_recipients')} (or leadershipRecipients) is required with smtpHost: "
            "who the notices go to"
        )
    if n.smtp_username is not None and n.smtp_password is None:
        raise ConfigError(f"{_notify_key('smtp_username')} is set: set {ENV_SMTP_PASSWORD} to its password")
    if n.smtp_password is not None and n.smtp_username is None:
        raise ConfigError(f"{ENV_SMTP_PASSWORD} is set: set {_notify_key('smtp_username')} too")
