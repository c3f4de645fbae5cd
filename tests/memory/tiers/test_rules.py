"""Tier rules via ``maintain`` with a policy set for the test, a fixed clock, and a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memory_system.core.config import ConfigError
from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.memory.tiers.rules import TierPolicy, load_tier_policy, maintain
from memory_system.store.connection import Database
from memory_system.store.scope_versions import scope_version

NS = "proj"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
DAY = 86400.0
POLICY = TierPolicy(
    session_idle_seconds=DAY,
    working_grace_seconds=3600,
    working_promote_uses=1,
    working_promote_importance=0.7,
    long_term_promote_uses=3,
    long_term_promote_importance=0.8,
    decay_after_seconds=7 * DAY,
    decay_per_day=0.5,
    forget_below_importance=0.1,
    forget_after_seconds=30 * DAY,
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def service(db: Database, events: MemoryEvents) -> MemoryService:
    return MemoryService(db, events)


def add(service: MemoryService, db: Database, content: str, *, at: datetime = T0, **fields: Any) -> int:
    """A memory whose clock (created/updated) is set to ``at``, as if written then."""
    memory_id = service.create(namespace=NS, agent_id="a1", item={"content": content, **fields}).memory.id
    with db.write() as conn:
        conn.execute(
            "UPDATE memories SET created_at = ?, updated_at = ? WHERE id = ?", (iso(at), iso(at), memory_id)
        )
    return memory_id


def end_session(db: Database, session_id: str, at: datetime) -> None:
    with db.write() as conn:
        conn.execute(
            "INSERT INTO sessions (id, namespace, agent_id, created_at, last_active_at, ended_at)"
            " VALUES (?, ?, 'a1', ?, ?, ?)",
            (session_id, NS, iso(at), iso(at), iso(at)),
        )


def row(db: Database, memory_id: int) -> dict[str, Any] | None:
    found = db.reader().execute("SELECT tier, importance FROM memories WHERE id = ?", (memory_id,)).fetchone()
    return dict(found) if found else None


def set_uses(db: Database, memory_id: int, access: int = 0, reinforcement: int = 0) -> None:
    with db.write() as conn:
        conn.execute(
            "UPDATE memories SET access_count = ?, reinforcement_count = ? WHERE id = ?",
            (access, reinforcement, memory_id),
        )


def test_working_memories_of_an_ended_session_are_promoted_or_expire_after_grace(
    service: MemoryService, db: Database, events: MemoryEvents
) -> None:
    deleted: list[int] = []
    events.on_deleted(deleted.extend)
    used = add(service, db, "used in session", session_id="s1")
    important = add(service, db, "important", session_id="s1", importance=0.9)
    idle = add(service, db, "never used", session_id="s1")
    live = add(service, db, "other session still live", session_id="s2")
    end_session(db, "s2", T0)
    with db.write() as conn:
        conn.execute(
            "UPDATE sessions SET ended_at = NULL, last_active_at = ? WHERE id = 's2'",
            (iso(T0 + timedelta(hours=2)),),
        )
    set_uses(db, used, access=1)
    end_session(db, "s1", T0)

    soon = maintain(db, POLICY, True, events=events, now=T0 + timedelta(minutes=10))
    assert (soon.promoted_to_short_term, soon.expired_working) == (2, 0)
    assert row(db, used)["tier"] == row(db, important)["tier"] == "short_term"  # type: ignore[index]
    assert row(db, idle)["tier"] == "working"  # type: ignore[index]  # within the grace period

    later = maintain(db, POLICY, True, events=events, now=T0 + timedelta(hours=2))
    assert later.expired_working == 1 and row(db, idle) is None and deleted == [idle]
    assert row(db, live)["tier"] == "working"  # type: ignore[index]


def test_a_session_idle_past_the_limit_counts_as_ended(service: MemoryService, db: Database) -> None:
    kept = add(service, db, "idle session, important", session_id="ghost", importance=0.75)
    dropped = add(service, db, "idle session, unused", session_id="ghost")
    report = maintain(db, POLICY, True, now=T0 + timedelta(days=1, hours=2))
    assert (report.promoted_to_short_term, report.expired_working) == (1, 1)
    assert row(db, kept)["tier"] == "short_term" and row(db, dropped) is None  # type: ignore[index]


def test_short_term_promoted_to_long_term_by_use_or_importance(service: MemoryService, db: Database) -> None:
    often = add(service, db, "retrieved often")
    set_uses(db, often, access=2, reinforcement=1)
    weighty = add(service, db, "weighty", importance=0.8)
    rare = add(service, db, "used twice")
    set_uses(db, rare, access=2)
    version = scope_version(db.reader(), NS)
    report = maintain(db, POLICY, True, now=T0 + timedelta(hours=1))
    assert report.promoted_to_long_term == 2
    assert [row(db, i)["tier"] for i in (often, weighty, rare)] == ["long_term", "long_term", "short_term"]  # type: ignore[index]
    assert scope_version(db.reader(), NS) == version + 1


def test_decay_follows_time_not_the_number_of_passes(
    service: MemoryService, db: Database, events: MemoryEvents
) -> None:
    fresh = add(service, db, "fresh", importance=0.8 - 0.01)  # below promotion
    stale = add(service, db, "stale", importance=0.6)
    with db.write() as conn:
        conn.execute(
            "UPDATE memories SET created_at = ?, updated_at = ? WHERE id = ?",
            (iso(T0 + timedelta(days=9)), iso(T0 + timedelta(days=9)), fresh),
        )
    # Stale decays from day 7: at day 9 two days at 0.5/day -> 0.15; the fresh one not at all.
    first = maintain(db, POLICY, True, now=T0 + timedelta(days=9))
    assert first.decayed == 1
    assert row(db, stale)["importance"] == pytest.approx(0.15)  # type: ignore[index]
    assert row(db, fresh)["importance"] == pytest.approx(0.79)  # type: ignore[index]
    # One more day in two passes equals one day in one pass: 0.15 * 0.5.
    maintain(db, POLICY, True, now=T0 + timedelta(days=9, hours=12))
    maintain(db, POLICY, True, now=T0 + timedelta(days=10))
    assert row(db, stale)["importance"] == pytest.approx(0.075)  # type: ignore[index]
    # Below the floor, but untouched for under 30 days: kept; after 30 days: forgotten.
    assert row(db, stale) is not None
    deleted: list[int] = []
    events.on_deleted(deleted.extend)
    report = maintain(db, POLICY, True, events=events, now=T0 + timedelta(days=31))
    assert report.forgotten == 1 and row(db, stale) is None and deleted == [stale]


def test_long_term_stays_and_expired_memories_go(service: MemoryService, db: Database) -> None:
    keep = add(service, db, "long lived", tier="long_term", importance=0.05)
    expiring = add(service, db, "expires", tier="long_term", expires_at=iso(T0 + timedelta(days=1)))
    report = maintain(db, POLICY, True, now=T0 + timedelta(days=400))
    assert report.expired == 1 and row(db, expiring) is None
    assert row(db, keep) == {"tier": "long_term", "importance": 0.05}


def test_flag_off_touches_nothing(service: MemoryService, db: Database) -> None:
    ids = [
        add(service, db, "working", session_id="s1"),
        add(service, db, "stale", importance=0.2),
        add(service, db, "weighty", importance=0.95),
        add(service, db, "expired", expires_at=iso(T0 + timedelta(days=1))),
    ]
    end_session(db, "s1", T0)
    before = [row(db, i) for i in ids]
    version = scope_version(db.reader(), NS)
    report = maintain(db, POLICY, False, now=T0 + timedelta(days=400))
    assert report.enabled is False and "off" in report.message
    assert [row(db, i) for i in ids] == before
    assert scope_version(db.reader(), NS) == version


def test_partial_rollout_touches_only_memories_whose_key_is_in(service: MemoryService, db: Database) -> None:
    inside = add(service, db, "in rollout", session_id="in", importance=0.9)
    outside = add(service, db, "not in rollout", session_id="out", importance=0.9)
    end_session(db, "in", T0)
    end_session(db, "out", T0)
    report = maintain(db, POLICY, lambda key: key == "in", now=T0 + timedelta(hours=2))
    assert report.promoted_to_short_term == 1 and report.skipped_flag_off == 1
    assert row(db, inside)["tier"] == "short_term" and row(db, outside)["tier"] == "working"  # type: ignore[index]


def test_policy_from_config_file(tmp_path: Path) -> None:
    assert load_tier_policy(tmp_path / "absent.json") == TierPolicy()
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"featureFlags": {}, "tiers": {"longTermPromoteUses": 5, "decayPerDay": 0.9}})
    )
    policy = load_tier_policy(config)
    assert (policy.long_term_promote_uses, policy.decay_per_day) == (5, 0.9)
    assert TierPolicy.from_mapping(policy.to_config()) == policy
    for bad, name in (
        ({"longTermPromoteUsez": 5}, "longTermPromoteUsez"),
        ({"decayPerDay": 2}, "decayPerDay"),
        ({"workingGraceSeconds": "1h"}, "workingGraceSeconds"),
        ({"longTermPromoteUses": 2.5}, "longTermPromoteUses"),
    ):
        config.write_text(json.dumps({"tiers": bad}))
        with pytest.raises(ConfigError, match=name):
            load_tier_policy(config)


def test_a_pass_works_in_small_transactions_and_misses_nothing(
    service: MemoryService, db: Database, events: MemoryEvents, monkeypatch: pytest.MonkeyPatch
) -> None:
    from memory_system.memory.tiers import rules as tiers

    monkeypatch.setattr(tiers, "CHUNK", 3)
    deleted: list[int] = []
    events.on_deleted(deleted.extend)
    working = [add(service, db, f"w{i}", session_id="s1", importance=0.9 if i % 2 else 0.1) for i in range(7)]
    stale = [add(service, db, f"st{i}", importance=0.5) for i in range(8)]
    promotable = [add(service, db, f"p{i}", importance=0.85) for i in range(5)]
    expiring = [
        add(service, db, f"e{i}", tier="long_term", expires_at=iso(T0 + timedelta(days=1))) for i in range(4)
    ]
    end_session(db, "s1", T0)
    report = maintain(db, POLICY, True, events=events, now=T0 + timedelta(days=8))
    assert report.promoted_to_short_term == 3 and report.expired_working == 4
    assert report.decayed == len(stale) and report.promoted_to_long_term == len(promotable)
    assert report.expired == len(expiring)
    assert sorted(deleted) == sorted([w for i, w in enumerate(working) if i % 2 == 0] + expiring)
    assert all(row(db, i)["tier"] == "short_term" for i in working if row(db, i))  # type: ignore[index]
    assert all(row(db, i)["tier"] == "long_term" for i in promotable)  # type: ignore[index]
    assert db.reader().execute("SELECT count(*) FROM memories").fetchone()[0] == 3 + 8 + 5


def test_a_pass_counts_its_actions_in_prometheus(service: MemoryService, db: Database) -> None:
    from memory_system.core.metrics import REGISTRY

    def sample(action: str) -> float:
        return REGISTRY.get_sample_value("memory_tier_transitions_total", {"action": action}) or 0.0

    before = sample("promoted_to_long_term"), sample("expired")
    add(service, db, "weighty", importance=0.9)
    add(service, db, "gone", tier="long_term", expires_at=iso(T0 + timedelta(days=1)))
    maintain(db, POLICY, True, now=T0 + timedelta(days=2))
    assert (sample("promoted_to_long_term"), sample("expired")) == (before[0] + 1, before[1] + 1)
    assert (REGISTRY.get_sample_value("memory_tier_maintenance_last_run_timestamp_seconds") or 0) > 0
