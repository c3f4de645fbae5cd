"""``memory-system flags`` against the database alone, as an operator runs it with the service down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import free_port

DOWN = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the service is down
INJ, SHARE, TIERS = "USE_ENHANCED_INJECTION", "USE_CROSS_AGENT_SHARING", "USE_HIERARCHICAL_TIERS"


def _show(cli: Any, db: Path, config: Path, **env: str) -> dict[str, Any]:
    proc = cli(
        "flags",
        "show",
        "--db",
        str(db),
        "--config",
        str(config),
        "--url",
        DOWN,
        "--json",
        env=env,
        check=True,
    )
    assert "not reachable" in proc.stderr and "database layer directly" in proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def _events(cli: Any, db: Path) -> list[dict[str, Any]]:
    return json.loads(cli("flags", "events", "--db", str(db), "--json", check=True).stdout)  # type: ignore[no-any-return]


def test_show_set_events_and_rollback(cli: Any, migrated_db: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"featureFlags": {SHARE: 0.5}}))
    shown = _show(cli, migrated_db, config, **{TIERS: "0.25"})
    assert shown["evaluated_by"] == "database" and not shown["service"]["reachable"]
    assert shown["this_shell"][TIERS] == {"raw": "0.25", "value": 0.25}  # shown apart, never mixed in
    snap = shown["flags"]
    assert snap[TIERS]["sources"] == {"env": None, "config_file": None, "database": None}
    assert snap[TIERS]["effective"] == 1.0
    assert snap[SHARE]["sources"] == {"env": None, "config_file": 0.5, "database": None}
    assert snap[INJ]["effective"] == 1.0

    proc = cli(
        "flags",
        "set",
        INJ,
        "0.01",
        "--db",
        str(migrated_db),
        "--config",
        str(config),
        "--actor",
        "alice",
        "--url",
        DOWN,
        check=True,
    )
    assert "USE_ENHANCED_INJECTION: database - -> 0.01" in proc.stdout
    assert f"service at {DOWN} not reachable" in proc.stderr and "the database is changed" in proc.stderr
    (line,) = [json.loads(x) for x in proc.stderr.splitlines() if "feature_flag_changed" in x]
    assert {k: line[k] for k in ("level", "event", "flag", "old_value", "new_value", "source", "actor")} == {
        "level": "INFO",
        "event": "feature_flag_changed",
        "flag": INJ,
        "old_value": None,
        "new_value": 0.01,
        "source": "cli",
        "actor": "alice",
    }
    assert _show(cli, migrated_db, config)["flags"][INJ]["sources"]["database"] == 0.01

    proc = cli(
        "flags",
        "rollback",
        "--db",
        str(migrated_db),
        "--config",
        str(config),
        "--actor",
        "oncall",
        "--url",
        DOWN,
        "--json",
        check=True,
    )
    out = json.loads(proc.stdout)
    assert out["database"] == {TIERS: 0.0, SHARE: 0.0, INJ: 0.0}
    assert out["service"]["reachable"] is False and out["service"]["confirmed"] is False
    assert len([x for x in proc.stderr.splitlines() if "feature_flag_changed" in x]) == 3
    events = _events(cli, migrated_db)
    assert [(e["flag"], e["new_value"], e["actor"]) for e in events] == [
        (INJ, 0.0, "oncall"),
        (SHARE, 0.0, "oncall"),
        (TIERS, 0.0, "oncall"),
        (INJ, 0.01, "alice"),
    ]
    text = cli(
        "flags", "show", "--db", str(migrated_db), "--config", str(config), "--url", DOWN, check=True
    ).stdout
    assert "off" in text and "most restrictive" in text and "no service asked" in text


def test_bad_input_exits_non_zero_with_one_line_and_changes_nothing(
    cli: Any, migrated_db: Path, tmp_path: Path
) -> None:
    config = tmp_path / "absent.json"
    before = _show(cli, migrated_db, config)
    for args, says in [
        ((INJ, "maybe"), "USE_ENHANCED_INJECTION='maybe'"),
        ((INJ, "10"), "for 10% write 0.1"),
        (("USE_TURBO", "false"), "unknown feature flag 'USE_TURBO'"),
    ]:
        proc = cli("flags", "set", *args, "--db", str(migrated_db), "--config", str(config), "--url", DOWN)
        assert proc.returncode == 1
        assert says in proc.stderr and "error:" in proc.stderr
        assert "feature_flag_changed" not in proc.stderr
    assert _show(cli, migrated_db, config)["flags"] == before["flags"]
    assert _events(cli, migrated_db) == []


def test_rollback_works_with_a_broken_config_file_and_env(
    cli: Any, migrated_db: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"featureFlags": {')
    text = cli(
        "flags", "show", "--db", str(migrated_db), "--config", str(config), "--url", DOWN, check=True
    ).stdout
    assert "config file refused" in text and "not valid JSON" in text
    proc = cli(
        "flags",
        "rollback",
        "--db",
        str(migrated_db),
        "--config",
        str(config),
        "--url",
        DOWN,
        env={INJ: "sometimes"},
        check=True,
    )
    assert "3 flag(s) changed" in proc.stdout
    assert _show(cli, migrated_db, tmp_path / "absent.json")["flags"][INJ]["effective"] == 0.0


def test_missing_or_unmigrated_database_says_what_to_do(cli: Any, tmp_path: Path) -> None:
    proc = cli("flags", "rollback", "--db", str(tmp_path / "nope.db"), "--url", DOWN)
    assert proc.returncode == 1 and "db migrate" in proc.stderr
    assert not (tmp_path / "nope.db").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    proc = cli("flags", "set", INJ, "false", "--db", str(empty), "--url", DOWN)
    assert proc.returncode == 1 and "db migrate" in proc.stderr
