"""Evaluating the matrix: every few seconds a snapshot of the registry is added to the window
and each rule is judged. A change of state is a JSON log event (``alert_fired`` at the rule's
severity, ``alert_resolved`` at INFO), the ``memory_alert_firing`` gauge, and a call to each
listener (the guard, the event recorder), so that nobody has to poll to react.

One daemon thread (``AlertWatch``) drives it; tests call ``evaluate`` with their own clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from memory_system.core import metrics
from memory_system.core.clock import format_utc
from memory_system.core.logging import log_event
from memory_system.core.periodic import PeriodicThread
from memory_system.ops.alerts.config import AlertConfig
from memory_system.ops.alerts.rules import Rule, build_rules
from memory_system.ops.alerts.samples import Snapshot, Window

__all__ = ["AlertEngine", "AlertTransition", "AlertWatch"]

_log = logging.getLogger(__name__)
_LEVEL = {"CRITICAL": logging.CRITICAL, "WARNING": logging.WARNING}


@dataclass(frozen=True)
class AlertTransition:
    """A rule started or stopped firing."""

    rule: Rule
    firing: bool
    value: float | None
    at: float


@dataclass
class _State:
    firing: bool = False
    value: float | None = None
    since: float | None = None
    changed_at: float | None = None


class AlertEngine:
    def __init__(
        self,
        config: AlertConfig,
        sample: Callable[[float], Snapshot],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.rules = build_rules(config)
        self._sample = sample
        self._clock = clock
        self._window = Window(config.longest_window_seconds)
        self._states = {rule.name: _State() for rule in self.rules}
        self._listeners: list[Callable[[AlertTransition], None]] = []
        self._lock = threading.Lock()
        self.evaluated_at: float | None = None
        for rule in self.rules:
            metrics.ALERT_FIRING.labels(rule=rule.name, severity=rule.severity).set(0)

    def on_transition(self, listener: Callable[[AlertTransition], None]) -> None:
        self._listeners.append(listener)

    def evaluate(self) -> list[AlertTransition]:
        """Take a snapshot, judge every rule, report what changed."""
        now = self._clock()
        snapshot = self._sample(now)
        changes: list[AlertTransition] = []
        with self._lock:
            self._window.add(snapshot)
            for rule in self.rules:
                state = self._states[rule.name]
                value = rule.measure(self._window)
                state.value = value
                firing = value is not None and rule.breached(value)
                if firing != state.firing:
                    state.firing, state.changed_at = firing, now
                    state.since = now if firing else None
                    changes.append(AlertTransition(rule, firing, value, now))
            self.evaluated_at = now
        for change in changes:
            self._report(change)
        return changes

    def _report(self, change: AlertTransition) -> None:
        rule = change.rule
        metrics.ALERT_FIRING.labels(rule=rule.name, severity=rule.severity).set(1 if change.firing else 0)
        log_event(
            _log,
            "alert_fired" if change.firing else "alert_resolved",
            _LEVEL[rule.severity] if change.firing else logging.INFO,
            rule=rule.name,
            severity=rule.severity,
            value=change.value,
            threshold=rule.threshold,
            unit=rule.unit,
            summary=rule.summary,
            flags=list(rule.flags),
        )
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # noqa: BLE001 - one failing listener must not silence the others
                log_event(_log, "alert_listener_failed", logging.ERROR, rule=rule.name, exc_info=True)

    def firing(self, severity: str | None = None) -> list[str]:
        with self._lock:
            return [
                r.name
                for r in self.rules
                if self._states[r.name].firing and (severity is None or r.severity == severity)
            ]

    def report(self) -> dict[str, Any]:
        """What ``GET /admin/alerts`` answers: every rule's state, value, threshold, since when."""
        with self._lock:
            rules = []
            for rule in self.rules:
                state = self._states[rule.name]
                rules.append(
                    {
                        "rule": rule.name,
                        "severity": rule.severity,
                        "state": "firing" if state.firing else ("no_data" if state.value is None else "ok"),
                        "value": state.value,
                        "threshold": rule.threshold,
                        "unit": rule.unit,
                        "summary": rule.summary,
                        "flags": list(rule.flags),
                        "firing_since": _utc(state.since),
                        "last_change": _utc(state.changed_at),
                    }
                )
            return {
                "enabled": self.config.enabled,
                "evaluated_at": _utc(self.evaluated_at),
                "evaluate_every_seconds": self.config.evaluate_every_seconds,
                "firing": [r["rule"] for r in rules if r["state"] == "firing"],
                "rules": rules,
            }

    def overview(self) -> dict[str, Any]:
        """The live numbers of the operations dashboard, read from the same window the rules
        judge (so a chart and an alert never disagree): quantiles and rates over the last
        ``rate_window_seconds``, gauges as of the last evaluation; None before the first one."""
        seconds = self.config.rate_window_seconds
        per_min = 60.0 / seconds
        with self._lock:
            firing = [
                {"rule": r.name, "severity": r.severity, "since": _utc(self._states[r.name].since)}
                for r in self.rules
                if self._states[r.name].firing
            ]
            if not self._window.snapshots:
                return {
                    "enabled": self.config.enabled,
                    "evaluated_at": None,
                    "window_seconds": seconds,
                    "firing": firing,
                }
            window, now = self._window, self._window.now

            def quantile_ms(q: float) -> float | None:
                value = window.injection_quantile(q, seconds)
                return None if value is None else round(value * 1000, 3)

            hits = window.increase(lambda s: s.cache_hits, seconds)
            lookups = hits + window.increase(lambda s: s.cache_misses, seconds)
            all_injections = dict(now.injection_buckets).get(float("inf"), 0.0)
            return {
                "enabled": self.config.enabled,
                "evaluated_at": _utc(self.evaluated_at),
                "window_seconds": seconds,
                "injection_p50_ms": quantile_ms(0.5),
                "injection_p95_ms": quantile_ms(0.95),
                "injections_per_min": window.increase(
                    lambda s: dict(s.injection_buckets).get(float("inf"), 0.0), seconds
                )
                * per_min,
                "injections_total": all_injections,
                "injection_errors_per_min": window.increase(lambda s: s.injection_errors, seconds) * per_min,
                "rag_timeouts_per_min": window.increase(lambda s: s.rag_timeouts, seconds) * per_min,
                "cache_hit_rate": round(hits / lookups, 4) if lookups else None,
                "cache_lookups": lookups,
                "resident_bytes": now.resident_bytes,
                "memory_limit_bytes": now.memory_limit_bytes,
                "firing": firing,
            }


def _utc(moment: float | None) -> str | None:
    return None if moment is None else format_utc(datetime.fromtimestamp(moment, UTC))


class AlertWatch(PeriodicThread):
    """The thread that evaluates ``engine`` every ``evaluate_every_seconds`` (the first at once)."""

    def __init__(self, engine: AlertEngine) -> None:
        self.engine = engine
        super().__init__(
            "alert-watch",
            engine.evaluate,
            lambda: engine.config.evaluate_every_seconds,
            failed_event="alert_evaluation_failed",
            logger=_log,
            run_at_start=True,
        )
