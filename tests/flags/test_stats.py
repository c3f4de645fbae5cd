"""Active sessions per flag, evaluated now: a flag going false shows 0 enabled at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory_system.flags.service import FlagService
from memory_system.flags.stats import flag_stats
from memory_system.flags.values import FlagError
from memory_system.store.connection import Database

INJ, SHARE = "USE_ENHANCED_INJECTION", "USE_CROSS_AGENT_SHARING"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def flags(migrated_db: Path, tmp_path: Path) -> Iterator[FlagService]:
    db = Database(migrated_db)
    now = datetime.now(UTC)
    rows: list[tuple[str, str, str | None]] = [
        (f"live-{i}", _iso(now - timedelta(minutes=1)), None) for i in range(2000)
    ]
    rows += [(f"stale-{i}", _iso(now - timedelta(hours=2)), None) for i in range(300)]
    rows += [(f"ended-{i}", _iso(now), _iso(now)) for i in range(100)]
    with db.write() as conn:
        conn.executemany(
            "INSERT INTO sessions (id, agent_id, last_active_at, ended_at) VALUES (?, 'a', ?, ?)", rows
        )
    yield FlagService(db, {}, tmp_path / "none.json", cache_s=0.0)
    db.close()


def test_counts_follow_the_effective_value_at_once(flags: FlagService) -> None:
    stats = flags.stats()
    assert stats["active_sessions"] == 2000  # stale and ended sessions do not count
    assert stats["flags"][INJ]["enabled_sessions"] == 2000
    assert stats["flags"][INJ]["percent_enabled"] == 100.0
    flags.set(INJ, 0.25, actor="ops", source="api")
    quarter = flags.stats()["flags"][INJ]
    assert abs(quarter["percent_enabled"] - 25.0) <= 3.0
    assert quarter["enabled_sessions"] == sum(flags.enabled(INJ, f"live-{i}") for i in range(2000))
    flags.set(INJ, False, actor="ops", source="api")
    off = flags.stats()["flags"][INJ]
    assert (off["active_sessions"], off["enabled_sessions"], off["percent_enabled"]) == (2000, 0, 0.0)
    assert flags.stats()["flags"][SHARE]["enabled_sessions"] == 2000  # other flags untouched


def test_window_is_configurable(flags: FlagService) -> None:
    assert flags.stats(window_s=3 * 3600)["active_sessions"] == 2300
    assert flags.stats(window_s=10)["active_sessions"] == 0
    with pytest.raises(FlagError):
        flags.stats(window_s=0)


def test_time_since_last_change(flags: FlagService) -> None:
    assert flags.stats()["flags"][INJ]["seconds_since_last_change"] is None
    flags.set(INJ, 0.5, actor="ops", source="api")
    changed_at = flags.events(1)[0]["created_at"]
    later = datetime.strptime(changed_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) + timedelta(seconds=42)
    stats = flag_stats(flags.db, flags.value, window_s=1800, now=later)["flags"]
    assert (stats[INJ]["last_changed_at"], stats[INJ]["seconds_since_last_change"]) == (changed_at, 42.0)
    assert stats[SHARE]["seconds_since_last_change"] is None
