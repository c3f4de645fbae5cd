"""The automatic guard: runbook option A in seconds, without waiting for a person.

When a CRITICAL rule tied to flags fires, each of those flags that is not already off is set
to 0 in the database with actor and source ``auto_guard``. Every process of the service
applies that within a second, the change is logged as ``feature_flag_changed`` and kept in
the flag audit trail (the incident log's record of it), and ``auto_guard_tripped`` says why.
The guard never turns a flag back on: that is an operator's decision, after the cause is found.
"""

from __future__ import annotations

import logging
from typing import Protocol

from memory_system.core.logging import log_event
from memory_system.ops.alerts.engine import AlertTransition

__all__ = ["GUARD", "AutoGuard"]

GUARD = "auto_guard"
_log = logging.getLogger(__name__)


class Flags(Protocol):
    def value(self, flag: str) -> float: ...

    def set(self, flag: str, value: object, *, actor: str, source: str) -> object: ...


class AutoGuard:
    """An ``AlertEngine`` listener (``engine.on_transition(guard)``)."""

    def __init__(self, flags: Flags) -> None:
        self.flags = flags
        self.tripped: list[tuple[str, str]] = []  # (rule, flag), for the incident log and tests

    def __call__(self, change: AlertTransition) -> None:
        rule = change.rule
        if not change.firing or rule.severity != "CRITICAL" or not rule.flags:
            return
        turned_off = []
        for flag in rule.flags:
            if self.flags.value(flag) > 0:
                self.flags.set(flag, False, actor=GUARD, source=GUARD)
                turned_off.append(flag)
                self.tripped.append((rule.name, flag))
        log_event(
            _log,
            "auto_guard_tripped",
            logging.CRITICAL,
            rule=rule.name,
            value=change.value,
            threshold=rule.threshold,
            flags_turned_off=turned_off,
            already_off=[f for f in rule.flags if f not in turned_off],
            action="find the cause, then turn the flags back on by hand: the guard never does",
        )
