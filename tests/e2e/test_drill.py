"""``drill a|b|c`` end to end: real scratch services on free ports, the real rollback and
rollout commands, and a real database that ends byte-for-byte the same except its drill rows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from memory_system.ops import schema, service_record
from memory_system.store.connection import open_connection
from tests.conftest import CliRunner, ServedProcess
from tests.e2e._service import ADMIN, counts

ENV = {"MEMORY_SYSTEM_EMBEDDER": "none"}


def _real_db(tmp_path: Path, fill: Callable[[Path], None]) -> Path:
    db = tmp_path / "real" / "memory.db"
    db.parent.mkdir()
    schema.migrate(db)
    fill(db)
    return db


def _memories(db: Path) -> list[tuple[object, ...]]:
    conn = open_connection(db, create=False)
    try:
        return [tuple(r) for r in conn.execute("SELECT * FROM memories ORDER BY id")]
    finally:
        conn.close()


def _without_drills(db: Path) -> dict[str, int]:
    return {t: n for t, n in counts(db)[1].items() if t != "drills"}


def _drill(cli: CliRunner, *args: str) -> tuple[int, dict[str, object]]:
    done = cli("drill", *args, "--json", env=ENV)
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_drill_a_leaves_the_real_database_and_service_as_they_were(
    tmp_path: Path,
    serve_process: Callable[..., ServedProcess],
    fill_phase_data: Callable[[Path], None],
    cli: CliRunner,
) -> None:
    db = _real_db(tmp_path, fill_phase_data)
    real = serve_process(db=db, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    tables, memories = _without_drills(db), _memories(db)

    code, report = _drill(cli, "a", "--db", str(db))

    assert code == 0, report["failures"]
    assert [s["name"] for s in report["steps"]] == [  # type: ignore[union-attr]
        "backup of the real database, verified, copied to the scratch",
        "start the scratch service",
        "rollback a (flags off, verify A)",
        "re-enable: start the gradual rollout of the flags",
        "re-enable: wait for the rollouts to complete",
    ]
    checks = [c for s in report["steps"] for c in s["checks"]]  # type: ignore[union-attr]
    assert any(c["name"] == "/health/deep ok" and c["ok"] for c in checks)  # verify A's own checks
    assert report["scratch"]["url"] != real.url  # type: ignore[index]
    assert _without_drills(db) == tables and _memories(db) == memories
    assert counts(db)[1]["drills"] == 1
    assert service_record.read_start(db).pid == real.proc.pid and real.proc.poll() is None
    assert Path(str(report["report"])).read_text().startswith("# Rollback drill, option A: PASSED")
    assert Path(str(report["report"])).parent == db.with_name("memory.db.drills")

    listed = json.loads(cli("drill", "history", "--db", str(db), "--json", check=True).stdout)
    assert [(d["option"], d["outcome"]) for d in listed["drills"]] == [("a", "passed")]


def test_drill_c_rolls_back_and_forward_on_the_scratch(
    tmp_path: Path, fill_phase_data: Callable[[Path], None], cli: CliRunner
) -> None:
    db = _real_db(tmp_path, fill_phase_data)
    tables = _without_drills(db)

    code, report = _drill(cli, "c", "--db", str(db), "--report-dir", str(tmp_path / "reports"))

    assert code == 0, report["failures"]
    names = [s["name"] for s in report["steps"]]  # type: ignore[union-attr]
    assert names[2:5] == [
        "approvals: a throwaway manager and DBA approve a request",
        "rollback c (005 and 004 rolled back, legacy mode, verify C)",
        "re-enable: stop, db migrate, serve --migrate",
    ]
    checks = {c["name"]: c["ok"] for s in report["steps"] for c in s["checks"]}  # type: ignore[union-attr]
    assert checks["the service runs the full schema again"]
    assert _without_drills(db) == tables and schema.status(db).state == "current"
    assert Path(str(report["report_json"])).parent == tmp_path / "reports"


def test_drill_b_without_an_earlier_release_restarts_into_the_same_one_and_says_so(
    tmp_path: Path, fill_phase_data: Callable[[Path], None], cli: CliRunner
) -> None:
    db = _real_db(tmp_path, fill_phase_data)
    empty = tmp_path / "releases"

    code, report = _drill(cli, "b", "--db", str(db), "--dir", str(empty))

    assert code == 0, report["failures"]
    assert any("same release" in n for n in report["notes"])  # type: ignore[union-attr]
    assert not empty.exists()  # the real releases folder is never written

    code, failed = _drill(cli, "b", "--db", str(db), "--dir", str(empty), "--to", "9.9.9")
    assert code == 1 and failed["outcome"] == "failed"
    assert "no release '9.9.9'" in failed["failures"][0]  # type: ignore[index]
    listed = json.loads(cli("drill", "history", "--db", str(db), "--json", check=True).stdout)
    assert [d["outcome"] for d in listed["drills"]] == ["failed", "passed"]
