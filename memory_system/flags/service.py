"""Feature flags for one process: every source, the effective value, per-request evaluation.

Off anywhere means off: the effective value of a flag is the minimum of the values its
sources set (a flag no source sets is on, 1.0), so any one rollback method works at once
whatever the others say. Every change (database writes from the API or CLI, config-file
reloads) goes through this module, which writes the audit row and the
``feature_flag_changed`` log line in one place.

In the log line and the audit row, ``old_value``/``new_value`` are the values of the layer
that changed (``null`` = that layer did not set the flag); ``effective_old_value`` /
``effective_new_value`` in the log line say what the change did to the flag as evaluated,
as this process saw the other sources at that moment.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.core.config import ConfigError
from memory_system.core.errors import StoreError
from memory_system.core.logging import log_event
from memory_system.flags.bucketing import in_rollout
from memory_system.flags.names import FLAG_NAMES, FLAGS
from memory_system.flags.sources import (
    CONFIG_FILE,
    DATABASE,
    ENV,
    DatabaseState,
    read_config_file,
    read_env,
)
from memory_system.flags.stats import flag_stats
from memory_system.flags.values import FlagError, check_name, describe, parse_value, percent
from memory_system.store import flags as store
from memory_system.store.connection import Database

__all__ = ["DEFAULT_ACTIVE_WINDOW_S", "FlagChange", "FlagService"]

logger = logging.getLogger("memory_system.flags")

DEFAULT_ACTIVE_WINDOW_S = 30 * 60.0
PRECEDENCE = "effective = the most restrictive (minimum) of env, config_file, database; unset everywhere = on"


@dataclass(frozen=True)
class FlagChange:
    flag: str
    source: str
    actor: str
    old_value: float | None
    new_value: float | None
    effective_old_value: float
    effective_new_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _effective(*values: float | None) -> float:
    return min((v for v in values if v is not None), default=1.0)


def _check_label(label: object, what: str) -> str:
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        raise FlagError(f"{what} must be a non-empty name of at most 200 characters, got {label!r}")
    return label.strip()


class FlagService:
    """Reads env once, the config file at start and on ``reload_config``, the database always.

    ``strict=False`` (the CLI) starts even when the config file or a flag variable in the
    environment is broken, reporting the problem in ``snapshot()`` instead: the emergency
    rollback must never depend on either.
    """

    def __init__(
        self,
        db: Database,
        env: Mapping[str, str],
        config_path: Path | None,
        *,
        cache_s: float = 0.5,
        active_window_s: float = DEFAULT_ACTIVE_WINDOW_S,
        strict: bool = True,
    ) -> None:
        self.db = db
        self.config_path = config_path
        self.active_window_s = active_window_s
        self.env_error: str | None = None
        try:
            self._env = read_env(env)
        except ConfigError as exc:
            if strict:
                raise
            self._env, self.env_error = {}, str(exc)
        self._lock = threading.Lock()
        self._state = DatabaseState(db, max_age_s=cache_s)
        self.config_error: str | None = None
        self.config_loaded_at: str | None = None
        try:
            self._config = read_config_file(config_path)
            self.config_loaded_at = utc_now()
        except ConfigError as exc:
            if strict:
                raise
            self._config = {}
            self.config_error = str(exc)

    # -- reading -------------------------------------------------------------------------

    def sources(self, flag: str) -> dict[str, float | None]:
        check_name(flag, source="flag lookup")
        row = self._state.rows().get(flag)
        return {
            ENV: self._env.get(flag),
            CONFIG_FILE: self._config.get(flag),
            DATABASE: row.value if row else None,
        }

    def value(self, flag: str) -> float:
        """The effective value in [0, 1]."""
        return _effective(*self.sources(flag).values())

    def enabled(self, flag: str, key: str) -> bool:
        """Whether ``flag`` is on for this session (or ``agent:<id>``) right now; sticky per key."""
        return in_rollout(self.value(flag), flag, key)

    def evaluate_all(self, key: str) -> dict[str, bool]:
        return {name: self.enabled(name, key) for name in FLAG_NAMES}

    def values(self) -> dict[str, float]:
        return {name: self.value(name) for name in FLAG_NAMES}

    def snapshot(self) -> dict[str, Any]:
        """Each flag's value in each source, the effective value, and the state of the sources."""
        rows = self._state.rows()
        flags: dict[str, Any] = {}
        for name, flag in FLAGS.items():
            sources = self.sources(name)
            effective = _effective(*sources.values())
            row = rows.get(name)
            flags[name] = {
                "sources": sources,
                "effective": effective,
                "state": describe(effective),
                "percent": percent(effective),
                "phase": flag.phase,
                "description": flag.description,
                "off_means": flag.off_means,
                "database_actor": row.actor if row else None,
                "database_updated_at": row.updated_at if row else None,
            }
        return {
            "flags": flags,
            "precedence": PRECEDENCE,
            "config_file": {
                "path": str(self.config_path) if self.config_path else None,
                "exists": bool(self.config_path and self.config_path.exists()),
                "loaded_at": self.config_loaded_at,
                "error": self.config_error,
            },
            "env_error": self.env_error,
            "database_error": self._state.last_error,
        }

    def events(self, limit: int = 100, flag: str | None = None) -> list[dict[str, Any]]:
        if flag is not None:
            check_name(flag, source="events filter")
        if not 1 <= limit <= 10_000:
            raise FlagError(f"limit must be between 1 and 10000, got {limit}")
        return [e.to_dict() for e in store.list_events(self.db.reader(), limit=limit, flag=flag)]

    def stats(self, window_s: float | None = None) -> dict[str, Any]:
        return flag_stats(
            self.db, self.value, window_s=self.active_window_s if window_s is None else window_s
        )

    def check(self) -> str:
        """``"ok"`` or what is wrong, for the deep health check."""
        try:
            self._state.rows()
        except StoreError as exc:
            return f"cannot read feature_flag_state: {exc}"
        problems = [p for p in (self._state.last_error, self.config_error, self.env_error) if p]
        return "; ".join(problems) if problems else "ok"

    # -- changing --------------------------------------------------------------------------

    def set(self, flag: str, value: object, *, actor: str, source: str) -> list[FlagChange]:
        return self.set_many({flag: value}, actor=actor, source=source)

    def rollback_all(self, *, actor: str, source: str) -> list[FlagChange]:
        """All three flags to 0 in the database: every process runs legacy mode within 1 s."""
        return self.set_many(dict.fromkeys(FLAG_NAMES, 0.0), actor=actor, source=source)

    def set_many(self, values: Mapping[str, object], *, actor: str, source: str) -> list[FlagChange]:
        """Write database values, all or none: every name and value is checked before any write.

        Returns the flags whose database value changed; setting a value a flag already has
        is no change and leaves no event.
        """
        actor = _check_label(actor, "actor")
        source = _check_label(source, "source")
        if not values:
            raise FlagError(f"no flags given; known flags: {', '.join(FLAG_NAMES)}")
        parsed = {
            check_name(name, source=source): parse_value(raw, flag=name, source=source)
            for name, raw in values.items()
        }
        now = utc_now()
        changes: list[FlagChange] = []
        with self.db.write() as conn:
            current = store.read_state(conn)
            for name, new in parsed.items():
                row = current.get(name)
                old = row.value if row else None
                if old == new:
                    continue
                store.upsert_state(conn, name, new, actor, now)
                store.insert_event(
                    conn, flag=name, old_value=old, new_value=new, source=source, actor=actor, now=now
                )
                env, config = self._env.get(name), self._config.get(name)
                changes.append(
                    FlagChange(
                        name,
                        source,
                        actor,
                        old,
                        new,
                        _effective(env, config, old),
                        _effective(env, config, new),
                    )
                )
        self._state.invalidate()
        for change in changes:
            self._log(change)
        return changes

    def reload_config(self, *, actor: str = "config_reload") -> list[FlagChange]:
        """Re-read the config file; a broken file raises ``ConfigError`` and changes nothing."""
        try:
            new = read_config_file(self.config_path)
        except ConfigError as exc:
            self.config_error = f"{exc} (refused; the previous configuration stays in effect)"
            log_event(
                logger,
                "feature_flag_config_rejected",
                logging.ERROR,
                path=str(self.config_path),
                error=str(exc),
            )
            raise
        rows = self._state.rows()
        with self._lock:
            old = self._config
            self._config = new
            self.config_error = None
            self.config_loaded_at = utc_now()
        changes = []
        for name in FLAG_NAMES:
            if old.get(name) == new.get(name):
                continue
            env = self._env.get(name)
            row = rows.get(name)
            db_value = row.value if row else None
            changes.append(
                FlagChange(
                    name,
                    CONFIG_FILE,
                    actor,
                    old.get(name),
                    new.get(name),
                    _effective(env, old.get(name), db_value),
                    _effective(env, new.get(name), db_value),
                )
            )
        self._record(changes)
        return changes

    def _record(self, changes: list[FlagChange]) -> None:
        """Audit rows for changes already in force; a failing audit write must not undo them."""
        if not changes:
            return
        now = utc_now()
        try:
            with self.db.write() as conn:
                for c in changes:
                    store.insert_event(
                        conn,
                        flag=c.flag,
                        old_value=c.old_value,
                        new_value=c.new_value,
                        source=c.source,
                        actor=c.actor,
                        now=now,
                    )
        except StoreError as exc:
            log_event(
                logger,
                "feature_flag_audit_failed",
                logging.ERROR,
                error=str(exc),
                flags=[c.flag for c in changes],
            )
        for change in changes:
            self._log(change)

    @staticmethod
    def _log(change: FlagChange) -> None:
        log_event(
            logger,
            "feature_flag_changed",
            flag=change.flag,
            old_value=change.old_value,
            new_value=change.new_value,
            source=change.source,
            actor=change.actor,
            effective_old_value=change.effective_old_value,
            effective_new_value=change.effective_new_value,
        )
