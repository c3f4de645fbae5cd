"""The automatic guard: runbook option A in seconds, without waiting for a person.

When a CRITICAL rule tied to flags fires, each of those flags that is not already off is set
to 0 in the database with actor and source ``auto_guard``. Every process of the service
applies that within a second, the change is logged as ``feature_flag_changed`` and kept in
the flag audit trail (the incident log's record of it), and ``auto_guard_tripped`` says why.
Any running or paused rollout of those flags is aborted first (a ``rollout_events`` row whose
reason names the rule), so that no rollout step puts a flag back on after the guard.
The guard never turns a flag back on: that is an operator's decision, after the cause is found.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from memory_system.core.logging import log_event
from memory_system.ops.alerts.engine import AlertTransition

__all__ = ["GUARD", "AutoGuard"]

GUARD = "auto_guard"
_log = logging.getLogger(__name__)


class Flags(Protocol):
    def value(self, flag: str) -> float: ...

    def set(self, flag: str, value: object, *, actor: str, source: str) -> object: ...


class Rollouts(Protocol):
    def abort_if_active(self, flag: str, *, actor: str, reason: str) -> bool: ...


Tripped = Callable[[AlertTransition, list[str], str], None]  # (change, flags turned off, why)


class AutoGuard:
    """An ``AlertEngine`` listener (``engine.on_transition(guard)``); ``on_trip`` is told of
    every flag-off it made (the runtime opens an incident with it)."""

    def __init__(
        self, flags: Flags, rollouts: Rollouts | None = None, on_trip: Tripped | None = None
    ) -> None:
        self.flags = flags
        self.rollouts = rollouts
        self.on_trip = on_trip
        self.tripped: list[tuple[str, str]] = []  # (rule, flag), for the incident log and tests

    def __call__(self, change: AlertTransition) -> None:
        rule = change.rule
        if not change.firing or rule.severity != "CRITICAL" or not rule.flags:
            return
        turned_off, aborted = [], []
        why = (
            f"{GUARD}: CRITICAL alert {rule.name} fired "
            f"(value {_num(change.value)} {rule.unit}, threshold {_num(rule.threshold)}) "
            f"and turned {', '.join(rule.flags)} off"
        )
        for flag in rule.flags:
            if self.rollouts is not None and self._abort_rollout(flag, why):
                aborted.append(flag)
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
            rollouts_aborted=aborted,
            action="find the cause, then turn the flags back on by hand: the guard never does",
        )
        if turned_off and self.on_trip is not None:
            try:
                self.on_trip(change, turned_off, why)
            except Exception:  # noqa: BLE001 - the flags are off; a missing incident row is logged
                log_event(_log, "auto_guard_incident_failed", logging.ERROR, rule=rule.name, exc_info=True)

    def _abort_rollout(self, flag: str, reason: str) -> bool:
        """A failing abort must not keep the flag on: logged, and the guard goes on."""
        assert self.rollouts is not None
        try:
            return self.rollouts.abort_if_active(flag, actor=GUARD, reason=reason)
        except Exception:  # noqa: BLE001 - turning the flag off matters more than the rollout row
            log_event(_log, "auto_guard_rollout_abort_failed", logging.ERROR, flag=flag, exc_info=True)
            return False


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"
