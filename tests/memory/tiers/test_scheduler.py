"""The serving process's periodic maintenance and ``Runtime.run_tier_maintenance`` under the real flags."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_system.core.settings import Settings
from memory_system.flags.bucketing import in_rollout
from memory_system.flags.names import USE_HIERARCHICAL_TIERS
from memory_system.memory.tiers.scheduler import TierMaintenanceThread
from memory_system.runtime import Runtime


@pytest.fixture
def runtime(migrated_db: Path, tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(Settings(db_path=migrated_db, config_path=tmp_path / "no-config.json"))
    yield rt
    rt.close()


def ended_session_memories(runtime: Runtime, sessions: list[str]) -> dict[str, int]:
    ids = {}
    for sid in sessions:
        ids[sid] = runtime.memories.create(
            namespace="p",
            agent_id="a",
            item={"content": f"important in {sid}", "session_id": sid, "importance": 0.9},
        ).memory.id
        with runtime.db.write() as conn:
            conn.execute(
                "INSERT INTO sessions (id, namespace, agent_id, ended_at) VALUES (?, 'p', 'a', ?)",
                (sid, "2000-01-01T00:00:00.000Z"),
            )
    return ids


def tier_of(runtime: Runtime, memory_id: int) -> str:
    return str(
        runtime.db.reader().execute("SELECT tier FROM memories WHERE id = ?", (memory_id,)).fetchone()[0]
    )


def test_periodic_thread_runs_passes_and_stops_at_close(runtime: Runtime) -> None:
    ids = ended_session_memories(runtime, ["s1"])
    thread = runtime.start_tier_maintenance(0.05)
    deadline = time.monotonic() + 20
    while thread.passes < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert thread.passes >= 1 and thread.failures == 0
    assert tier_of(runtime, ids["s1"]) in ("short_term", "long_term")
    assert runtime.system_metadata.get("tiers:last_report")["enabled"] is True
    runtime.close()
    assert not thread.alive


def test_a_failing_pass_is_retried_not_fatal() -> None:
    calls: list[int] = []

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database briefly unavailable")

    thread = TierMaintenanceThread(flaky, 0.01)
    thread.start()
    deadline = time.monotonic() + 20
    while thread.passes < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    thread.stop()
    assert thread.failures == 1 and thread.passes >= 1 and not thread.alive
    with pytest.raises(ValueError):
        TierMaintenanceThread(flaky, 0)


def test_flag_off_in_the_environment_means_no_maintenance(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USE_HIERARCHICAL_TIERS, "false")
    ids = ended_session_memories(runtime, ["s1"])
    report = runtime.run_tier_maintenance()
    assert report.enabled is False and tier_of(runtime, ids["s1"]) == "working"


def test_percentage_rollout_maintains_only_sessions_in_it(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USE_HIERARCHICAL_TIERS, "0.5")
    sessions = [f"session-{i}" for i in range(12)]
    ids = ended_session_memories(runtime, sessions)
    inside = {sid for sid in sessions if in_rollout(0.5, USE_HIERARCHICAL_TIERS, sid)}
    assert 0 < len(inside) < len(sessions)
    report = runtime.run_tier_maintenance()
    assert report.promoted_to_short_term == len(inside)
    assert {sid for sid in sessions if tier_of(runtime, ids[sid]) == "short_term"} == inside
