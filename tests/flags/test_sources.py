"""Each source read the way it changes: env once, the config file strictly, the database cached."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from memory_system.core.config import ConfigError
from memory_system.flags.sources import DatabaseState, read_config_file, read_env
from memory_system.store import flags as store
from memory_system.store.connection import Database


def test_env_uses_the_flag_names_and_ignores_empty_and_other_variables() -> None:
    env = {
        "USE_ENHANCED_INJECTION": "false",
        "USE_CROSS_AGENT_SHARING": "0.01",
        "USE_HIERARCHICAL_TIERS": "  ",
        "MEMORY_SYSTEM_USE_ENHANCED_INJECTION": "true",
        "PATH": "/bin",
    }
    assert read_env(env) == {"USE_ENHANCED_INJECTION": 0.0, "USE_CROSS_AGENT_SHARING": 0.01}


def test_env_bad_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"environment: USE_HIERARCHICAL_TIERS='sometimes'"):
        read_env({"USE_HIERARCHICAL_TIERS": "sometimes"})


def _write(path: Path, doc: object) -> Path:
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def test_config_file_missing_or_without_section_sets_nothing(tmp_path: Path) -> None:
    assert read_config_file(None) == {}
    assert read_config_file(tmp_path / "absent.json") == {}
    assert read_config_file(_write(tmp_path / "c.json", {"adminToken": "x" * 20})) == {}


def test_config_file_values_and_other_sections_kept_apart(tmp_path: Path) -> None:
    doc = {
        "adminToken": "x" * 20,
        "featureFlags": {
            "USE_ENHANCED_INJECTION": False,
            "USE_CROSS_AGENT_SHARING": 0.25,
            "USE_HIERARCHICAL_TIERS": "true",
        },
    }
    assert read_config_file(_write(tmp_path / "c.json", doc)) == {
        "USE_ENHANCED_INJECTION": 0.0,
        "USE_CROSS_AGENT_SHARING": 0.25,
        "USE_HIERARCHICAL_TIERS": 1.0,
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"featureFlags": {"USE_ENHANCED_INJECTION": fals', "not valid JSON"),
        ("[1, 2]", "top level must be a JSON object"),
        ({"featureFlags": ["USE_ENHANCED_INJECTION"]}, '"featureFlags" must be an object'),
        ({"featureFlags": {"USE_ENHANCED_INJECTON": False}}, "unknown feature flag 'USE_ENHANCED_INJECTON'"),
        ({"featureFlags": {"USE_ENHANCED_INJECTION": 5}}, "USE_ENHANCED_INJECTION=5 is outside"),
        ({"featureFlags": {"USE_ENHANCED_INJECTION": "NaN"}}, "USE_ENHANCED_INJECTION='NaN'"),
    ],
)
def test_config_file_refused_with_the_problem_named(tmp_path: Path, content: object, message: str) -> None:
    path = _write(tmp_path / "c.json", content)
    with pytest.raises(ConfigError, match="config file .*c.json") as info:
        read_config_file(path)
    assert message in str(info.value)


def test_config_file_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(ConfigError, match="cannot read it"):
        read_config_file(tmp_path / "dir.json")


def test_database_state_is_cached_for_max_age_then_reread(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    now = [100.0]
    state = DatabaseState(db, max_age_s=0.5, clock=lambda: now[0])
    assert state.rows() == {}
    other = Database(db.path)  # another writer, as another process would be
    with other.write() as conn:
        store.upsert_state(conn, "USE_ENHANCED_INJECTION", 0.0, "ops", "2026-01-01T00:00:00.000Z")
        store.upsert_state(conn, "USE_FROM_A_LATER_RELEASE", 0.0, "ops", "2026-01-01T00:00:00.000Z")
    other.close()
    now[0] += 0.49
    assert state.rows() == {}  # still within the cache age
    now[0] += 0.02
    with caplog.at_level(logging.INFO, logger="memory_system.flags"):
        rows = state.rows()
    (applied,) = [r for r in caplog.records if r.getMessage() == "feature_flag_applied"]
    assert (applied.flag, applied.old_value, applied.new_value, applied.actor) == (  # type: ignore[attr-defined]
        "USE_ENHANCED_INJECTION",
        None,
        0.0,
        "ops",
    )
    assert set(rows) == {"USE_ENHANCED_INJECTION"}  # a flag this release does not know is ignored
    assert (rows["USE_ENHANCED_INJECTION"].value, rows["USE_ENHANCED_INJECTION"].actor) == (0.0, "ops")


def test_database_state_keeps_the_last_good_rows_when_a_read_fails(db: Database) -> None:
    state = DatabaseState(db, max_age_s=0.0)
    with db.write() as conn:
        store.upsert_state(conn, "USE_CROSS_AGENT_SHARING", 0.0, "ops", "2026-01-01T00:00:00.000Z")
    assert state.rows()["USE_CROSS_AGENT_SHARING"].value == 0.0
    db.reader().close()  # reads now fail
    assert state.rows()["USE_CROSS_AGENT_SHARING"].value == 0.0
    assert state.last_error is not None and "feature_flag_state" in state.last_error
