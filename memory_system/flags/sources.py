"""The three places a flag value can come from, each read the way it changes.

- **env**: variables named exactly like the flags (``USE_ENHANCED_INJECTION=false``), read
  once at start: the process environment cannot change under a running process. An empty
  variable counts as not set.
- **config_file**: ``{"featureFlags": {...}}`` in the JSON config file, read at start and on
  reload (SIGHUP). A missing file sets nothing; a file that does not parse, names an unknown
  flag or holds a bad value is refused whole, so a typo never half-applies.
- **database**: ``feature_flag_state``, written by the admin API and the CLI from any process.
  Read through a cache of ``max_age_s`` (0.5 s) so every process sees a change within 1 s
  for the price of one three-row query per half second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from memory_system.core.config import ConfigError
from memory_system.core.errors import StoreError
from memory_system.core.logging import log_event
from memory_system.flags.names import FLAG_NAMES, FLAGS
from memory_system.flags.values import check_name, parse_value
from memory_system.store import flags as store
from memory_system.store.connection import Database

__all__ = ["CONFIG_FILE", "DATABASE", "ENV", "DatabaseState", "read_config_file", "read_env"]

ENV = "env"
CONFIG_FILE = "config_file"
DATABASE = "database"

logger = logging.getLogger("memory_system.flags")


def read_env(env: Mapping[str, str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for name in FLAG_NAMES:
        raw = env.get(name)
        if raw is None or not raw.strip():
            continue
        values[name] = parse_value(raw, flag=name, source="environment")
    return values


def read_config_file(path: Path | None) -> dict[str, float]:
    """The ``featureFlags`` of the file, or ``ConfigError`` saying what is wrong with it."""
    if path is None or not path.exists():
        return {}
    where = f"config file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{where}: cannot read it: {reason}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(doc, dict):
        raise ConfigError(f'{where}: the top level must be a JSON object like {{"featureFlags": {{...}}}}')
    section = doc.get("featureFlags")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f'{where}: "featureFlags" must be an object mapping flag names to values')
    source = f"{where} featureFlags"
    return {check_name(k, source=source): parse_value(v, flag=k, source=source) for k, v in section.items()}


class DatabaseState:
    """``feature_flag_state`` behind a short cache, shared by every thread of the process."""

    def __init__(self, db: Database, *, max_age_s: float = 0.5, clock: Callable[[], float] = time.monotonic):
        self._db = db
        self._max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._rows: dict[str, store.FlagState] | None = None
        self._read_at = 0.0
        self.last_error: str | None = None

    def rows(self) -> dict[str, store.FlagState]:
        """Known flags only: a row a later release wrote for a flag we do not know is ignored.

        When the read fails after a good one, the last good rows stay in force (and
        ``last_error`` says why) rather than failing every request on a flag lookup.
        """
        now = self._clock()
        with self._lock:
            if self._rows is not None and now - self._read_at < self._max_age_s:
                return self._rows
            try:
                fresh = store.read_state(self._db.reader())
            except StoreError as exc:
                self.last_error = f"cannot read feature_flag_state: {exc}"
                if self._rows is None:
                    raise
                return self._rows
            self.last_error = None
            known = {k: v for k, v in fresh.items() if k in FLAGS}
            if self._rows is not None:
                _log_applied(self._rows, known)
            self._rows = known
            self._read_at = now
            return self._rows

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = float("-inf")


def _log_applied(old: dict[str, store.FlagState], new: dict[str, store.FlagState]) -> None:
    """One line per database value this process starts to use, whichever process wrote it.

    The writer logs ``feature_flag_changed``; this line puts the moment each running
    service applied it into that service's own log.
    """
    for name in FLAG_NAMES:
        before, after = old.get(name), new.get(name)
        old_value = before.value if before else None
        new_value = after.value if after else None
        if old_value != new_value:
            log_event(
                logger,
                "feature_flag_applied",
                flag=name,
                source=DATABASE,
                old_value=old_value,
                new_value=new_value,
                actor=after.actor if after else None,
                changed_at=after.updated_at if after else None,
            )
