"""Progressive rollout of one flag: 1% -> 10% -> 50% -> 100%, each step held, stopped by alerts.

``start`` sets the flag to the first step at once. Every ``tick`` (the ``RolloutDriver``
thread of each running service) moves a running rollout up a step when its hold has passed
and no CRITICAL alert fired since the step began, read from ``alert_events`` rows, so an alert
that another process fired holds it back too; the last step completes it. The state is rows
(``rollouts``, ``rollout_events``), so a restarted service continues the hold from
``step_started_at``. Every step is a ``rollout_events`` row, a ``rollout_event`` log line and a
flag change through ``FlagService`` with source ``rollout`` (so ``feature_flag_events`` and
``feature_flag_changed`` have it), all in one transaction.

Decisions:

- A CRITICAL alert fired during the hold pauses the rollout, with the rule in the reason; the
  guard aborts rollouts of the flags it turns off (``abort_if_active``), so an alert tied to
  the flag ends it, and any other one waits for a person. ``resume`` holds the step again.
- A flag whose database value is changed by hand (API, CLI, dashboard) during a running
  rollout pauses it, the reason naming the change: a person took over. ``resume`` puts the
  step's value back and holds it again.
- ``abort`` by a person also turns the flag off (0): the way back is off, as in runbook
  option A. ``pause`` keeps the value of the step in force.
- Only the database layer is rolled out: an env variable or config file that holds the flag
  lower keeps it there (off anywhere is off); ``effective`` in the status says so.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.core.errors import ServiceError, StoreConstraint
from memory_system.core.logging import log_event
from memory_system.core.periodic import PeriodicThread
from memory_system.flags.service import FlagService
from memory_system.flags.values import FlagError, check_name
from memory_system.store import alert_events
from memory_system.store import flags as flag_store
from memory_system.store import rollouts as store

__all__ = [
    "DEFAULT_HOLD",
    "DEFAULT_STEPS",
    "MAX_HOLD_S",
    "MAX_STEPS",
    "ROLLOUT",
    "RolloutConflict",
    "RolloutDriver",
    "RolloutError",
    "RolloutNotFound",
    "RolloutService",
    "parse_hold",
    "parse_steps",
]

_log = logging.getLogger("memory_system.flags.rollout")

ROLLOUT = "rollout"  # the flag-change source of every step, and the actor of automatic ones
DEFAULT_STEPS = (0.01, 0.1, 0.5, 1.0)
DEFAULT_HOLD = "1h"
MAX_STEPS = 20
MAX_HOLD_S = 30 * 24 * 3600.0
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_HOLD = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([smhd]?)\s*$", re.IGNORECASE)


class RolloutError(ServiceError, ValueError):
    """Bad rollout input; ``field`` names it, ``kind`` is the API's ``error``."""

    kind = "invalid_rollout"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RolloutNotFound(RolloutError):
    """No running or paused rollout of the flag (pause, resume, abort of none)."""

    kind = "rollout_not_found"


class RolloutConflict(RolloutError):
    """The flag's rollout is not in a state that allows it (a second start, resume of a running one)."""

    kind = "rollout_conflict"


def parse_hold(raw: object) -> float:
    """Seconds from ``30s``, ``5m``, ``1h``, ``2d`` or a plain number of seconds (>= 0)."""
    seconds: float
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise RolloutError(f"hold {raw!r} is not a duration; write 30s, 5m, 1h or seconds", field="hold")
    if isinstance(raw, str):
        match = _HOLD.match(raw)
        if match is None:
            raise RolloutError(f"hold {raw!r} is not a duration; write 30s, 5m, 1h or seconds", field="hold")
        seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    else:
        seconds = float(raw)
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_HOLD_S:
        raise RolloutError(f"hold must be between 0 s and 30 days, got {raw!r}", field="hold")
    return seconds


def parse_steps(raw: object) -> list[float]:
    """Rising fractions in (0, 1], from a list or ``"0.01,0.1,0.5,1"``."""
    items: list[object]
    if isinstance(raw, str):
        items = [part.strip() for part in raw.split(",")]
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        raise RolloutError(f"steps {raw!r} must be a list of fractions like 0.01,0.1,0.5,1", field="steps")
    if not 1 <= len(items) <= MAX_STEPS:
        raise RolloutError(f"steps must hold 1 to {MAX_STEPS} fractions, got {len(items)}", field="steps")
    steps: list[float] = []
    for item in items:
        try:
            if isinstance(item, bool):
                raise ValueError
            value = float(item)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            hint = " (write the fraction: 0.1 for 10%)" if str(item).endswith("%") else ""
            raise RolloutError(f"step {item!r} is not a fraction{hint}", field="steps") from None
        if not math.isfinite(value) or not 0 < value <= 1:
            raise RolloutError(f"step {item!r} is outside (0, 1]: 0.01 is 1% of sessions", field="steps")
        if steps and value <= steps[-1]:
            raise RolloutError(f"steps must rise: {value:g} after {steps[-1]:g}", field="steps")
        steps.append(value)
    return steps


def _label(raw: object, what: str, *, empty: bool = False, limit: int = 200) -> str:
    if not isinstance(raw, str) or len(raw) > limit or (not empty and not raw.strip()):
        raise RolloutError(f"{what} must be text of at most {limit} characters, got {raw!r}", field=what)
    return raw.strip()


def _utc(moment: float) -> str:
    return format_utc(datetime.fromtimestamp(moment, UTC))


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class RolloutService:
    """Rollouts of ``flags``'s flags, in ``flags.db``; ``clock`` is seconds since the epoch."""

    def __init__(self, flags: FlagService, *, clock: Callable[[], float] = time.time) -> None:
        self.flags = flags
        self.db = flags.db
        self._clock = clock

    # -- reading -------------------------------------------------------------------------

    def status(self, flag: str | None = None) -> list[dict[str, Any]]:
        """Each flag's newest rollout (or only ``flag``'s), with its events, oldest first."""
        if flag is not None:
            flag = self._flag(flag)
        conn = self.db.reader()
        return [self._view(row, store.list_events(conn, row.id)) for row in store.latest(conn, flag)]

    def _view(self, row: store.RolloutRow, events: list[store.RolloutEventRow]) -> dict[str, Any]:
        last = row.step_index + 1 >= len(row.steps)
        next_at = None
        if row.state == "running" and not last:
            next_at = _utc(_seconds(row.step_started_at) + row.hold_seconds)
        return {
            "id": row.id,
            "flag": row.flag,
            "state": row.state,
            "steps": row.steps,
            "step_index": row.step_index,
            "value": row.steps[row.step_index],
            "next_value": None if last or row.state not in store.ACTIVE else row.steps[row.step_index + 1],
            "hold_seconds": row.hold_seconds,
            "step_started_at": row.step_started_at,
            "next_step_at": next_at,
            "reason": row.reason,
            "started_by": row.started_by,
            "started_at": row.started_at,
            "ended_at": row.ended_at,
            "updated_at": row.updated_at,
            "effective": self.flags.value(row.flag),
            "events": [e.to_dict() for e in events],
        }

    def _active(self, flag: str, action: str) -> store.RolloutRow:
        found = store.active(self.db.reader(), flag)
        if not found:
            raise RolloutNotFound(
                f"no running or paused rollout of {flag} to {action}; "
                f"see 'memory-system rollout status {flag}'",
                field="flag",
            )
        return found[0]

    @staticmethod
    def _flag(flag: object) -> str:
        try:
            return check_name(flag, source="rollout")
        except FlagError as exc:
            raise RolloutError(str(exc), field="flag") from None

    # -- changing ------------------------------------------------------------------------

    def start(self, flag: str, steps: object, hold: object, *, actor: str) -> dict[str, Any]:
        """Start a rollout and set the flag to its first step; bad input changes nothing."""
        flag, values, seconds = self._flag(flag), parse_steps(steps), parse_hold(hold)
        actor = _label(actor, "actor")
        now = _utc(self._clock())
        with self.db.write() as conn:
            for existing in store.active(conn, flag):
                raise RolloutConflict(
                    f"{flag} already has a {existing.state} rollout (#{existing.id}, at "
                    f"{existing.steps[existing.step_index]:g}); abort it first "
                    f"('memory-system rollout abort {flag}')",
                    field="flag",
                )
            try:
                rollout_id = store.insert_rollout(
                    conn, flag=flag, steps=values, hold_seconds=seconds, started_by=actor, now=now
                )
            except StoreConstraint:  # another process started one between the read and the write
                raise RolloutConflict(f"{flag} already has a running rollout", field="flag") from None
            self._event(conn, rollout_id, flag, "started", 0, values[0], actor, "", now)
            if len(values) == 1:  # the last step completes it, at once
                store.update(
                    conn,
                    rollout_id,
                    expect_states=("running",),
                    expect_step=0,
                    now=now,
                    state="completed",
                    ended_at=now,
                )
                self._event(conn, rollout_id, flag, "completed", 0, values[0], actor, "", now)
            self.flags.set(flag, values[0], actor=actor, source=ROLLOUT)
        return self.status(flag)[0]

    def pause(self, flag: str, *, actor: str, reason: str = "") -> dict[str, Any]:
        flag, actor, reason = self._flag(flag), _label(actor, "actor"), _label(reason, "reason", empty=True)
        row = self._active(flag, "pause")
        if row.state == "paused":
            raise RolloutConflict(
                f"the rollout of {flag} is already paused ({row.reason or 'no reason given'}); "
                f"resume it with 'memory-system rollout resume {flag}'",
                field="flag",
            )
        if not self._pause(row, actor, reason or f"paused by {actor}"):
            raise RolloutConflict(f"the rollout of {flag} changed meanwhile; check its status", field="flag")
        return self.status(flag)[0]

    def resume(self, flag: str, *, actor: str) -> dict[str, Any]:
        """Run a paused rollout again: its step's value back on the flag, the hold from now."""
        flag, actor = self._flag(flag), _label(actor, "actor")
        row = self._active(flag, "resume")
        if row.state == "running":
            raise RolloutConflict(f"the rollout of {flag} is running, not paused", field="flag")
        now = _utc(self._clock())
        value = row.steps[row.step_index]
        with self.db.write() as conn:
            if not store.update(
                conn,
                row.id,
                expect_states=("paused",),
                expect_step=row.step_index,
                now=now,
                state="running",
                reason="",
                step_started_at=now,
            ):
                raise RolloutConflict(
                    f"the rollout of {flag} changed meanwhile; check its status", field="flag"
                )
            self._event(conn, row.id, flag, "resumed", row.step_index, value, actor, "", now)
            self.flags.set(flag, value, actor=actor, source=ROLLOUT)
        return self.status(flag)[0]

    def abort(self, flag: str, *, actor: str, reason: str = "", turn_off: bool = True) -> dict[str, Any]:
        """End the rollout; ``turn_off`` sets the flag to 0 (the guard has turned it off already)."""
        flag, actor, reason = self._flag(flag), _label(actor, "actor"), _label(reason, "reason", empty=True)
        row = self._active(flag, "abort")
        now = _utc(self._clock())
        with self.db.write() as conn:
            if not store.update(
                conn,
                row.id,
                expect_states=store.ACTIVE,
                expect_step=row.step_index,
                now=now,
                state="aborted",
                reason=reason or f"aborted by {actor}",
                ended_at=now,
            ):
                raise RolloutConflict(
                    f"the rollout of {flag} changed meanwhile; check its status", field="flag"
                )
            self._event(
                conn, row.id, flag, "aborted", row.step_index, row.steps[row.step_index], actor, reason, now
            )
            if turn_off:
                self.flags.set(flag, False, actor=actor, source=ROLLOUT)
        return self.status(flag)[0]

    def abort_if_active(self, flag: str, *, actor: str, reason: str) -> bool:
        """The guard's abort: any running or paused rollout of ``flag``, the flag left as it is."""
        try:
            self.abort(flag, actor=actor, reason=reason, turn_off=False)
        except RolloutNotFound:
            return False
        return True

    # -- driving -------------------------------------------------------------------------

    def tick(self) -> list[dict[str, Any]]:
        """One pass of the driver over every running rollout; what it did, as events."""
        done: list[dict[str, Any]] = []
        conn = self.db.reader()
        now_s = self._clock()
        for row in store.active(conn):
            if row.state != "running":
                continue
            step_value = row.steps[row.step_index]
            state = flag_store.read_state(conn).get(row.flag)  # fresh: not this process's cache
            if state is None or not math.isclose(state.value, step_value, abs_tol=1e-9):
                why = self._hand_change(row, step_value, None if state is None else state.value)
                if self._pause(row, ROLLOUT, why):
                    done.append({"flag": row.flag, "event": "paused", "reason": why})
                continue
            fired = alert_events.critical_fired_since(conn, row.step_started_at)
            if fired:
                alert = fired[0]
                why = (
                    f"CRITICAL alert {alert.rule} fired at {alert.created_at} on {alert.instance or '?'} "
                    f"during the hold of {step_value:g}; resume once its cause is fixed"
                )
                if self._pause(row, ROLLOUT, why):
                    done.append({"flag": row.flag, "event": "paused", "reason": why})
                continue
            if now_s - _seconds(row.step_started_at) >= row.hold_seconds and self._advance(row, now_s):
                value = row.steps[min(row.step_index + 1, len(row.steps) - 1)]
                done.append({"flag": row.flag, "event": "advanced", "value": value})
        return done

    def _hand_change(self, row: store.RolloutRow, step_value: float, value: float | None) -> str:
        events = flag_store.list_events(self.db.reader(), limit=1, flag=row.flag)
        who = f" by {events[0].actor} ({events[0].source})" if events else ""
        now_text = "unset" if value is None else f"{value:g}"
        return (
            f"{row.flag} was changed by hand to {now_text}{who} during the rollout; "
            f"resume to put {step_value:g} back and hold it again"
        )

    def _advance(self, row: store.RolloutRow, now_s: float) -> bool:
        now = _utc(now_s)
        step = min(row.step_index + 1, len(row.steps) - 1)  # a running last step only completes
        last = step + 1 >= len(row.steps)
        changes: dict[str, object] = {"step_index": step, "step_started_at": now}
        if last:
            changes |= {"state": "completed", "ended_at": now}
        with self.db.write() as conn:
            if not store.update(
                conn, row.id, expect_states=("running",), expect_step=row.step_index, now=now, **changes
            ):
                return False  # another process advanced it
            if step != row.step_index:
                self._event(conn, row.id, row.flag, "advanced", step, row.steps[step], ROLLOUT, "", now)
            if last:
                self._event(conn, row.id, row.flag, "completed", step, row.steps[step], ROLLOUT, "", now)
            self.flags.set(row.flag, row.steps[step], actor=ROLLOUT, source=ROLLOUT)
        return True

    def _pause(self, row: store.RolloutRow, actor: str, reason: str) -> bool:
        now = _utc(self._clock())
        with self.db.write() as conn:
            if not store.update(
                conn,
                row.id,
                expect_states=("running",),
                expect_step=row.step_index,
                now=now,
                state="paused",
                reason=reason,
            ):
                return False
            self._event(
                conn,
                row.id,
                row.flag,
                "paused",
                row.step_index,
                row.steps[row.step_index],
                actor,
                reason,
                now,
            )
        return True

    @staticmethod
    def _event(
        conn: Any,
        rollout_id: int,
        flag: str,
        event: str,
        step_index: int,
        value: float,
        actor: str,
        reason: str,
        now: str,
    ) -> None:
        store.insert_event(
            conn,
            rollout_id=rollout_id,
            event=event,
            step_index=step_index,
            value=value,
            actor=actor,
            reason=reason,
            now=now,
        )
        log_event(
            _log,
            "rollout_event",
            logging.WARNING if event in ("paused", "aborted") else logging.INFO,
            rollout_id=rollout_id,
            flag=flag,
            rollout_event=event,
            step_index=step_index,
            value=value,
            actor=actor,
            reason=reason,
        )


class RolloutDriver(PeriodicThread):
    """The thread that calls ``rollouts.tick`` every ``interval_s`` (the first at once)."""

    def __init__(self, rollouts: RolloutService, interval_s: float) -> None:
        self.rollouts = rollouts
        super().__init__(
            "rollout-driver",
            rollouts.tick,
            max(interval_s, 0.05),  # a zero from the config must not spin
            failed_event="rollout_tick_failed",
            logger=_log,
            run_at_start=True,
        )
