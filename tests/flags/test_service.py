"""Off anywhere means off; every change leaves an audit row and one JSON log line; all or nothing."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from memory_system.core.config import ConfigError
from memory_system.core.logging import JsonFormatter
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.service import FlagService
from memory_system.flags.values import FlagError
from memory_system.store.connection import Database

INJ, SHARE, TIERS = "USE_ENHANCED_INJECTION", "USE_CROSS_AGENT_SHARING", "USE_HIERARCHICAL_TIERS"


@pytest.fixture
def make(db: Database, tmp_path: Path) -> Callable[..., FlagService]:
    def build(env: dict[str, str] | None = None, config: object = None, **kw: Any) -> FlagService:
        path = tmp_path / "config.json"
        path.unlink(missing_ok=True)
        if config is not None:
            path.write_text(json.dumps(config))
        return FlagService(db, env or {}, path, **kw)

    return build


def _write_config(service: FlagService, doc: object) -> None:
    assert service.config_path is not None
    service.config_path.write_text(doc if isinstance(doc, str) else json.dumps(doc))


def _events(service: FlagService) -> list[tuple[Any, ...]]:
    return [(e["flag"], e["old_value"], e["new_value"], e["source"], e["actor"]) for e in service.events()]


def _changed_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    fmt = JsonFormatter()
    lines = [json.loads(fmt.format(r)) for r in caplog.records if r.getMessage() == "feature_flag_changed"]
    caplog.clear()
    return lines


def test_a_flag_no_source_sets_is_on(make: Callable[..., FlagService]) -> None:
    flags = make()
    assert flags.values() == dict.fromkeys(FLAG_NAMES, 1.0)
    assert flags.evaluate_all("session-1") == dict.fromkeys(FLAG_NAMES, True)
    snap = flags.snapshot()["flags"][INJ]
    assert snap["sources"] == {"env": None, "config_file": None, "database": None}
    assert (snap["effective"], snap["state"]) == (1.0, "on")


def test_each_source_alone_changes_the_effective_value(make: Callable[..., FlagService]) -> None:
    assert make(env={INJ: "false"}).value(INJ) == 0.0
    assert make(config={"featureFlags": {INJ: 0.1}}).value(INJ) == 0.1
    flags = make()
    flags.set(INJ, 0.5, actor="ops", source="api")
    assert flags.value(INJ) == 0.5
    assert flags.snapshot()["flags"][INJ]["sources"] == {"env": None, "config_file": None, "database": 0.5}


def test_most_restrictive_wins_whatever_the_others_say(make: Callable[..., FlagService]) -> None:
    flags = make(env={SHARE: "0.5"}, config={"featureFlags": {SHARE: 0.1}})
    flags.set(SHARE, True, actor="ops", source="api")
    assert flags.value(SHARE) == 0.1  # database says on, config file says 10%
    flags.set(SHARE, False, actor="ops", source="api")
    assert flags.value(SHARE) == 0.0
    assert not any(flags.enabled(SHARE, f"s{i}") for i in range(200))
    off_in_env = make(env={TIERS: "false"})
    off_in_env.set(TIERS, "true", actor="ops", source="cli")
    assert off_in_env.value(TIERS) == 0.0  # off anywhere means off
    assert off_in_env.value(INJ) == 1.0  # flags are independent


def test_change_writes_audit_row_and_the_json_log_line(
    make: Callable[..., FlagService], caplog: pytest.LogCaptureFixture
) -> None:
    flags = make(env={INJ: "0.5"})
    with caplog.at_level(logging.INFO, logger="memory_system.flags"):
        changes = flags.set(INJ, "0.01", actor="alice", source="api")
        (line,) = _changed_lines(caplog)
    assert [c.to_dict() for c in changes] == [
        {
            "flag": INJ,
            "source": "api",
            "actor": "alice",
            "old_value": None,
            "new_value": 0.01,
            "effective_old_value": 0.5,
            "effective_new_value": 0.01,
        }
    ]
    assert {k: line[k] for k in ("level", "event", "flag", "old_value", "new_value", "source", "actor")} == {
        "level": "INFO",
        "event": "feature_flag_changed",
        "flag": INJ,
        "old_value": None,
        "new_value": 0.01,
        "source": "api",
        "actor": "alice",
    }
    assert (line["effective_old_value"], line["effective_new_value"]) == (0.5, 0.01)
    assert datetime.fromisoformat(line["timestamp"]).utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert _events(flags) == [(INJ, None, 0.01, "api", "alice")]


def test_setting_the_value_a_flag_has_is_no_change(make: Callable[..., FlagService]) -> None:
    flags = make()
    assert len(flags.set(TIERS, "false", actor="a", source="cli")) == 1
    assert flags.set(TIERS, 0, actor="b", source="cli") == []
    assert _events(flags) == [(TIERS, None, 0.0, "cli", "a")]


@pytest.mark.parametrize(
    "body",
    [
        {INJ: False, SHARE: "maybe"},
        {INJ: False, "USE_TURBO": True},
        {INJ: False, TIERS: 1.5},
        {},
    ],
)
def test_bad_input_changes_nothing(
    make: Callable[..., FlagService], body: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    flags = make()
    before = flags.snapshot()["flags"]
    with caplog.at_level(logging.INFO, logger="memory_system.flags"), pytest.raises(FlagError) as info:
        flags.set_many(body, actor="ops", source="api")
    assert (info.value.flag in body) if body else "no flags given" in str(info.value)
    assert flags.snapshot()["flags"] == before
    assert flags.events() == [] and _changed_lines(caplog) == []


def test_bad_actor_is_refused(make: Callable[..., FlagService]) -> None:
    with pytest.raises(FlagError, match="actor"):
        make().set(INJ, False, actor="  ", source="api")


def test_rollback_all_turns_every_flag_off(make: Callable[..., FlagService]) -> None:
    flags = make()
    flags.set(INJ, 0.3, actor="ops", source="api")
    changes = flags.rollback_all(actor="oncall", source="cli")
    assert {c.flag for c in changes} == set(FLAG_NAMES)
    assert flags.values() == dict.fromkeys(FLAG_NAMES, 0.0)
    assert _events(flags)[:3] == [
        (INJ, 0.3, 0.0, "cli", "oncall"),
        (SHARE, None, 0.0, "cli", "oncall"),
        (TIERS, None, 0.0, "cli", "oncall"),
    ]
    assert _events(flags)[-1] == (INJ, None, 0.3, "api", "ops")
    assert [e["flag"] for e in flags.events(10, flag=INJ)] == [INJ, INJ]
    assert len(flags.events(1)) == 1


def test_reload_applies_a_good_file_and_logs_each_change(
    make: Callable[..., FlagService], caplog: pytest.LogCaptureFixture
) -> None:
    flags = make(config={"featureFlags": {INJ: 0.5}})
    _write_config(flags, {"featureFlags": {INJ: False, SHARE: 0.2}})
    with caplog.at_level(logging.INFO, logger="memory_system.flags"):
        changes = flags.reload_config(actor="sighup")
        lines = _changed_lines(caplog)
    assert [(c.flag, c.old_value, c.new_value, c.effective_new_value) for c in changes] == [
        (SHARE, None, 0.2, 0.2),
        (INJ, 0.5, 0.0, 0.0),
    ]
    assert [(ln["flag"], ln["source"], ln["actor"]) for ln in lines] == [
        (SHARE, "config_file", "sighup"),
        (INJ, "config_file", "sighup"),
    ]
    assert flags.values() == {TIERS: 1.0, SHARE: 0.2, INJ: 0.0}
    assert set(_events(flags)) == {
        (SHARE, None, 0.2, "config_file", "sighup"),
        (INJ, 0.5, 0.0, "config_file", "sighup"),
    }
    flags.config_path.unlink()  # type: ignore[union-attr]
    assert {c.flag for c in flags.reload_config()} == {SHARE, INJ}  # a removed file sets nothing
    assert flags.values() == dict.fromkeys(FLAG_NAMES, 1.0)


@pytest.mark.parametrize(
    "broken", ['{"featureFlags": {', {"featureFlags": {"USE_NOPE": False}}, {"featureFlags": {INJ: "off"}}]
)
def test_reload_refuses_a_broken_file_and_keeps_the_previous_config(
    make: Callable[..., FlagService], caplog: pytest.LogCaptureFixture, broken: object
) -> None:
    flags = make(config={"featureFlags": {INJ: 0.1}})
    _write_config(flags, broken)
    with caplog.at_level(logging.INFO, logger="memory_system.flags"), pytest.raises(ConfigError):
        flags.reload_config()
    assert flags.value(INJ) == 0.1
    assert flags.events() == []
    (rejected,) = [r for r in caplog.records if r.getMessage() == "feature_flag_config_rejected"]
    assert rejected.levelno == logging.ERROR
    assert "previous configuration stays" in flags.snapshot()["config_file"]["error"]
    assert flags.check() != "ok"
    _write_config(flags, {"featureFlags": {INJ: 0.2}})
    flags.reload_config()
    assert (flags.value(INJ), flags.snapshot()["config_file"]["error"], flags.check()) == (0.2, None, "ok")


def test_a_broken_file_or_env_stops_a_strict_start_but_not_the_cli(make: Callable[..., FlagService]) -> None:
    with pytest.raises(ConfigError):
        make(config={"featureFlags": {INJ: 2}})
    with pytest.raises(ConfigError):
        make(env={INJ: "nope"})
    lenient = make(env={SHARE: "nope"}, config={"featureFlags": {INJ: 2}}, strict=False)
    assert lenient.snapshot()["config_file"]["error"] is not None
    assert lenient.snapshot()["env_error"] is not None
    assert len(lenient.rollback_all(actor="oncall", source="cli")) == 3


def test_events_arguments_are_checked(make: Callable[..., FlagService]) -> None:
    with pytest.raises(FlagError):
        make().events(0)
    with pytest.raises(FlagError):
        make().events(10, flag="USE_NOPE")


def test_a_change_by_another_process_is_seen_within_one_second(
    make: Callable[..., FlagService], migrated_db: Path, cli: Any
) -> None:
    flags = make()
    assert flags.value(INJ) == 1.0  # cached now
    cli("flags", "set", INJ, "false", "--db", str(migrated_db), "--actor", "other-process", check=True)
    deadline = time.monotonic() + 1.0
    while flags.value(INJ) != 0.0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert flags.value(INJ) == 0.0, "the database change did not reach this process within 1 s"
    assert _events(flags) == [(INJ, None, 0.0, "cli", "other-process")]
