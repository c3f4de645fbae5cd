"""The three feature flags as an OpenFeature provider, for another Python service on the same database.

Evaluation is ``FlagService``'s own, not a copy of it: the same sources, the same precedence
(off anywhere is off) and the same sticky buckets, so a session gets here the answer that
memory-system's own requests give it. The database is opened read-only and read through the
service's 0.5 s cache: a change made with the admin API or the CLI is seen within 1 s, for one
three-row query per half second.

The environment and the config file are sources of the *process that reads them*: to agree
with the service on a flag set there, hand the provider the service's (``env=``,
``config_path=``). By default they are read as the service reads its own: ``os.environ``, then
``$MEMORY_SYSTEM_CONFIG``, else /etc/memory-system/config.json; once, when the provider is
set (set a new provider to re-read them, as the service re-reads its file on SIGHUP).

Usage::

    api.set_provider_and_wait(MemorySystemFlagProvider("/var/lib/memory-system/memory.db"))
    api.get_client().get_boolean_value("USE_ENHANCED_INJECTION", False, EvaluationContext(session_id))

The targeting key is the session id; a call without a session passes an ``agent_id``
attribute instead and is evaluated for ``agent:<agent id>``, as the service does.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode, ProviderNotReadyError
from openfeature.flag_evaluation import FlagMetadata, FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from memory_system.core.config import ConfigError, resolve_db_path
from memory_system.core.errors import StoreError
from memory_system.core.settings_loader import resolve_config_path
from memory_system.flags.keys import flag_key
from memory_system.flags.names import FLAG_NAMES, FLAGS
from memory_system.flags.service import FlagService
from memory_system.flags.values import percent
from memory_system.runtime import open_flags

__all__ = ["MemorySystemFlagProvider"]

T = TypeVar("T")

ON, OFF = "on", "off"


class MemorySystemFlagProvider(AbstractProvider):
    """Resolves the three flags (booleans) of one memory-system database for a session or agent.

    - **value**: ``FlagService.enabled(flag, key)``; **variant** ``"on"`` or ``"off"``.
    - **reason**: ``STATIC`` when the effective value gives every key the same answer (off, on,
      or a fraction that rounds to 0% or 100%); ``SPLIT`` during a percentage rollout, where
      the key's sticky bucket decided (OpenFeature's reason for a pseudorandom assignment).
    - **flag_metadata**: ``effective`` (the fraction in force), ``percent``, ``sources`` (the
      sources that set a value, comma-separated, empty when none does and the flag is on),
      ``decided_by`` (those whose value is the effective one), and each setting source's
      value under its name (``env``, ``config_file``, ``database``).
    - **errors** (the default value, reason ``ERROR``): ``FLAG_NOT_FOUND`` for any other flag
      name, ``TYPE_MISMATCH`` for a non-boolean evaluation, ``TARGETING_KEY_MISSING`` with
      neither a targeting key nor an ``agent_id``, ``PROVIDER_NOT_READY`` while the database or
      the config cannot be read (the message says why; a failed open is retried at most once
      per cache age, and the provider reports ready once it succeeds).
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        config_path: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        cache_s: float = 0.5,
    ) -> None:
        super().__init__()
        environ = os.environ if env is None else env
        self.db_path = resolve_db_path(db_path)
        self.config_path = resolve_config_path(config_path, environ)
        self._env = dict(environ)
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._flags: FlagService | None = None
        self._error: str | None = None
        self._retry_at = float("-inf")

    def get_metadata(self) -> Metadata:
        return Metadata(name="memory-system")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        """Open the database and read env and config now; ``ProviderNotReadyError`` says what failed."""
        with self._lock:
            self._retry_at = float("-inf")
        if self._open() is None:
            raise ProviderNotReadyError(self._error)

    def shutdown(self) -> None:
        with self._lock:
            flags, self._flags = self._flags, None
        if flags is not None:
            flags.db.close()

    def _open(self) -> FlagService | None:
        recovered = False
        with self._lock:
            if self._flags is not None:
                return self._flags
            now = time.monotonic()
            if now < self._retry_at:
                return None
            try:
                self._flags = open_flags(
                    self.db_path, env=self._env, config_path=self.config_path, cache_s=self._cache_s
                )
            except (StoreError, ConfigError) as exc:
                self._error = f"memory-system feature flags cannot be read: {exc}"
                self._retry_at = now + self._cache_s
                return None
            recovered, self._error = self._error is not None, None
            flags = self._flags
        if recovered:
            self.emit_provider_ready(ProviderEventDetails(message=f"reading {self.db_path}"))
        return flags

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        if flag_key not in FLAGS:
            return _unknown(flag_key, default_value)
        key = _key(evaluation_context)
        if key is None:
            return _error(
                default_value,
                ErrorCode.TARGETING_KEY_MISSING,
                f"{flag_key} is evaluated per session: give the session id as the targeting key, "
                "or an agent_id attribute for a call without a session",
            )
        flags = self._open()
        if flags is None:
            return _error(default_value, ErrorCode.PROVIDER_NOT_READY, self._error)
        effective = flags.value(flag_key)
        on = flags.enabled(flag_key, key)
        static = effective >= 1.0 or percent(effective) in (0, 100)
        return FlagResolutionDetails(
            value=on,
            reason=Reason.STATIC if static else Reason.SPLIT,
            variant=ON if on else OFF,
            flag_metadata=_metadata(effective, flags.sources(flag_key)),
        )

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        return _not_boolean(flag_key, default_value)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        return _not_boolean(flag_key, default_value)

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        return _not_boolean(flag_key, default_value)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        return _not_boolean(flag_key, default_value)


def _key(context: EvaluationContext | None) -> str | None:
    """The session id, else ``agent:<agent id>``: the service's own rule (``flags.keys``)."""
    if context is None:
        return None
    agent_id = context.attributes.get("agent_id")
    agent = agent_id if isinstance(agent_id, str) else ""
    if not context.targeting_key and not agent:
        return None
    return flag_key(context.targeting_key, agent)


def _metadata(effective: float, sources: Mapping[str, float | None]) -> FlagMetadata:
    setting = {name: value for name, value in sources.items() if value is not None}
    return {
        "effective": effective,
        "percent": percent(effective),
        "sources": ",".join(setting),
        "decided_by": ",".join(name for name, value in setting.items() if value == effective),
        **setting,
    }


def _error(default_value: T, code: ErrorCode, message: str | None) -> FlagResolutionDetails[T]:
    return FlagResolutionDetails(
        value=default_value, reason=Reason.ERROR, error_code=code, error_message=message
    )


def _unknown(flag: str, default_value: T) -> FlagResolutionDetails[T]:
    return _error(
        default_value,
        ErrorCode.FLAG_NOT_FOUND,
        f"unknown feature flag {flag!r}; known flags: {', '.join(FLAG_NAMES)}",
    )


def _not_boolean(flag: str, default_value: T) -> FlagResolutionDetails[T]:
    if flag not in FLAGS:
        return _unknown(flag, default_value)
    message = f"{flag} is a boolean flag; evaluate it with get_boolean_value"
    return _error(default_value, ErrorCode.TYPE_MISMATCH, message)
