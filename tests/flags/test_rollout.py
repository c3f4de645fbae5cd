"""The rollout state machine on a real database file, with a clock the test moves: start,
advance on the hold, complete, pause and resume, abort, a restart that continues the hold,
alerts and hand changes that stop it, and bad input that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from memory_system.core.clock import format_utc
from memory_system.flags.rollout import (
    RolloutConflict,
    RolloutError,
    RolloutNotFound,
    RolloutService,
    parse_hold,
    parse_steps,
)
from memory_system.flags.service import FlagService
from memory_system.store import alert_events
from memory_system.store.connection import Database

FLAG = "USE_ENHANCED_INJECTION"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def flags(db: Database, tmp_path: Path) -> FlagService:
    return FlagService(db, {}, tmp_path / "none.json", cache_s=0)


@pytest.fixture
def rollouts(flags: FlagService, clock: Clock) -> RolloutService:
    return RolloutService(flags, clock=clock)


def _fire(db: Database, at: float, severity: str = "CRITICAL", rule: str = "database_failures") -> None:
    with db.write() as conn:
        alert_events.insert(
            conn,
            rule=rule,
            severity=severity,
            event="fired",
            value=1.0,
            threshold=0.0,
            flags=[],
            message="",
            instance="elsewhere:1",
            now=format_utc(datetime.fromtimestamp(at, UTC)),
        )


def _events(rollouts: RolloutService) -> list[tuple[str, float, str]]:
    return [(e["event"], e["value"], e["actor"]) for e in rollouts.status(FLAG)[0]["events"]]


def test_start_sets_the_first_step_at_once_and_the_hold_moves_it_up_to_completion(
    rollouts: RolloutService, flags: FlagService, clock: Clock
) -> None:
    started = rollouts.start(FLAG, "0.01,0.1,1", "1h", actor="alice")
    assert (started["state"], started["value"], started["next_value"]) == ("running", 0.01, 0.1)
    assert started["next_step_at"] == format_utc(datetime.fromtimestamp(T0 + 3600, UTC))
    assert flags.value(FLAG) == 0.01

    clock.now += 3599
    assert rollouts.tick() == [] and flags.value(FLAG) == 0.01
    clock.now += 1
    assert rollouts.tick() == [{"flag": FLAG, "event": "advanced", "value": 0.1}]
    assert flags.value(FLAG) == 0.1 and rollouts.status(FLAG)[0]["step_index"] == 1
    clock.now += 3600
    rollouts.tick()

    done = rollouts.status(FLAG)[0]
    assert (done["state"], done["value"], done["next_step_at"], flags.value(FLAG)) == (
        "completed",
        1.0,
        None,
        1.0,
    )
    assert done["ended_at"] is not None
    assert _events(rollouts) == [
        ("started", 0.01, "alice"),
        ("advanced", 0.1, "rollout"),
        ("advanced", 1.0, "rollout"),
        ("completed", 1.0, "rollout"),
    ]
    # every step is also a flag change with source rollout, oldest last
    audit = [(e["new_value"], e["source"]) for e in flags.events(flag=FLAG)]
    assert audit == [(1.0, "rollout"), (0.1, "rollout"), (0.01, "rollout")]
    assert rollouts.tick() == []  # a completed rollout is left alone


def test_a_restarted_service_continues_the_hold_from_the_database(
    db: Database, tmp_path: Path, clock: Clock
) -> None:
    first = RolloutService(FlagService(db, {}, tmp_path / "none.json", cache_s=0), clock=clock)
    first.start(FLAG, [0.1, 0.5], 600, actor="alice")
    clock.now += 400
    first.tick()

    db.close()
    reopened = Database(db.path)
    try:
        flags = FlagService(reopened, {}, tmp_path / "none.json", cache_s=0)
        second = RolloutService(flags, clock=clock)
        clock.now += 199
        assert second.tick() == []
        clock.now += 1  # 600 s after the step began, not 600 s after the restart
        assert second.tick() == [{"flag": FLAG, "event": "advanced", "value": 0.5}]
        assert flags.value(FLAG) == 0.5 and second.status(FLAG)[0]["state"] == "completed"
    finally:
        reopened.close()


def test_pause_holds_the_step_and_resume_holds_it_again_from_now(
    rollouts: RolloutService, flags: FlagService, clock: Clock
) -> None:
    rollouts.start(FLAG, [0.1, 0.5, 1], 60, actor="alice")
    paused = rollouts.pause(FLAG, actor="bob", reason="looking at p95")
    assert (paused["state"], paused["reason"], paused["next_step_at"]) == ("paused", "looking at p95", None)
    clock.now += 3600
    assert rollouts.tick() == [] and flags.value(FLAG) == 0.1

    resumed = rollouts.resume(FLAG, actor="bob")
    assert resumed["state"] == "running" and resumed["reason"] == ""
    assert resumed["step_started_at"] == format_utc(datetime.fromtimestamp(clock.now, UTC))
    clock.now += 59
    assert rollouts.tick() == []
    clock.now += 1
    assert rollouts.tick()[0]["value"] == 0.5
    assert [e[0] for e in _events(rollouts)] == ["started", "paused", "resumed", "advanced"]


def test_abort_ends_the_rollout_and_turns_the_flag_off(rollouts: RolloutService, flags: FlagService) -> None:
    rollouts.start(FLAG, [0.1, 1], 60, actor="alice")
    aborted = rollouts.abort(FLAG, actor="bob", reason="errors in the logs")
    assert (aborted["state"], aborted["reason"], flags.value(FLAG)) == ("aborted", "errors in the logs", 0.0)
    assert _events(rollouts)[-1] == ("aborted", 0.1, "bob")
    # ended: a new rollout of the same flag may start
    assert rollouts.start(FLAG, [0.2, 1], 0, actor="alice")["state"] == "running"


def test_the_guards_abort_leaves_the_flag_to_the_guard(rollouts: RolloutService, flags: FlagService) -> None:
    rollouts.start(FLAG, [0.1, 1], 60, actor="alice")
    assert rollouts.abort_if_active(FLAG, actor="auto_guard", reason="auto_guard: injection_latency_p95")
    assert flags.value(FLAG) == 0.1 and rollouts.status(FLAG)[0]["state"] == "aborted"
    assert not rollouts.abort_if_active(FLAG, actor="auto_guard", reason="again")


def test_a_critical_alert_during_the_hold_pauses_it_and_a_warning_does_not(
    rollouts: RolloutService, flags: FlagService, db: Database, clock: Clock
) -> None:
    _fire(db, T0 - 10)  # before the step began: not during the hold
    rollouts.start(FLAG, [0.1, 1], 60, actor="alice")
    _fire(db, T0 + 5, severity="WARNING", rule="rag_timeouts")
    clock.now += 30
    assert rollouts.tick() == []
    _fire(db, T0 + 40)
    clock.now += 60
    (paused,) = rollouts.tick()
    assert paused["event"] == "paused" and "database_failures" in paused["reason"]
    status = rollouts.status(FLAG)[0]
    assert status["state"] == "paused" and "elsewhere:1" in status["reason"]
    assert flags.value(FLAG) == 0.1  # held, not raised


def test_a_flag_changed_by_hand_pauses_the_rollout_and_resume_puts_the_step_back(
    rollouts: RolloutService, flags: FlagService, clock: Clock
) -> None:
    rollouts.start(FLAG, [0.1, 0.5, 1], 60, actor="alice")
    flags.set(FLAG, 0.3, actor="carol", source="cli")
    (paused,) = rollouts.tick()
    assert paused["event"] == "paused"
    assert "changed by hand to 0.3 by carol (cli)" in paused["reason"]
    clock.now += 600
    assert rollouts.tick() == [] and flags.value(FLAG) == 0.3

    rollouts.resume(FLAG, actor="alice")
    assert flags.value(FLAG) == 0.1


@pytest.mark.parametrize(
    ("steps", "hold", "field"),
    [
        ("0.1,0.05", "1h", "steps"),  # not rising
        ("0.1,0.1", "1h", "steps"),
        ("0,0.5", "1h", "steps"),  # 0 is not a step
        ("0.5,1.5", "1h", "steps"),
        ("10%,50%", "1h", "steps"),
        ("", "1h", "steps"),
        ([True], "1h", "steps"),
        ("0.1,1", "1 hour", "hold"),
        ("0.1,1", "-5", "hold"),
        ("0.1,1", float("nan"), "hold"),
        ("0.1,1", "99999d", "hold"),
    ],
)
def test_bad_steps_or_hold_are_refused_and_change_nothing(
    rollouts: RolloutService, flags: FlagService, steps: object, hold: object, field: str
) -> None:
    with pytest.raises(RolloutError) as refused:
        rollouts.start(FLAG, steps, hold, actor="alice")
    assert refused.value.field == field and type(refused.value) is RolloutError
    assert rollouts.status() == [] and flags.events() == []


def test_unknown_flag_second_rollout_and_actions_on_none_are_clear_errors(
    rollouts: RolloutService, flags: FlagService
) -> None:
    with pytest.raises(RolloutError, match="unknown feature flag 'USE_NOTHING'"):
        rollouts.start("USE_NOTHING", "0.1", "1h", actor="alice")
    for action in (rollouts.pause, rollouts.abort):
        with pytest.raises(RolloutNotFound, match="no running or paused rollout"):
            action(FLAG, actor="alice")
    with pytest.raises(RolloutNotFound):
        rollouts.resume(FLAG, actor="alice")

    rollouts.start(FLAG, "0.1,1", "1h", actor="alice")
    before = flags.events()
    with pytest.raises(RolloutConflict, match="already has a running rollout"):
        rollouts.start(FLAG, "0.2,1", "5m", actor="bob")
    with pytest.raises(RolloutConflict, match="running, not paused"):
        rollouts.resume(FLAG, actor="bob")
    rollouts.pause(FLAG, actor="bob")
    with pytest.raises(RolloutConflict, match="already paused"):
        rollouts.pause(FLAG, actor="bob")
    assert flags.events() == before and flags.value(FLAG) == 0.1


def test_parse_hold_and_steps() -> None:
    assert [parse_hold(h) for h in ("30s", "5m", "1h", "2d", "90", 12.5, 0, " 1.5H ")] == [
        30.0,
        300.0,
        3600.0,
        172800.0,
        90.0,
        12.5,
        0.0,
        5400.0,
    ]
    assert parse_steps("0.01, 0.1,0.5,1") == [0.01, 0.1, 0.5, 1.0]
    assert parse_steps([0.25, 1]) == [0.25, 1.0]


def test_a_single_step_is_set_and_completed_at_once(rollouts: RolloutService, flags: FlagService) -> None:
    done = rollouts.start(FLAG, "0.5", "1h", actor="alice")
    assert (done["state"], done["value"], flags.value(FLAG)) == ("completed", 0.5, 0.5)
    assert [e[0] for e in _events(rollouts)] == ["started", "completed"]
