"""``rollback c`` against a real ``memory-system serve`` with Phase 2-4 data: it ends in
legacy mode with Phase 1 working and verify C passing, the loss shown beforehand is the loss
recorded, and when the legacy start fails for a real reason the backup comes back by itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from memory_system.client import MemoryClient
from memory_system.ops import schema, service_record
from tests.conftest import CliRunner, ServedProcess
from tests.e2e._service import ADMIN, PortSquatter, counts, mint_token, rollback_records, stopped_at_exit

ENV = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}


def _served_with_data(
    tmp_path: Path, serve_process: Callable[..., ServedProcess], fill: Callable[[Path], None]
) -> ServedProcess:
    db = tmp_path / "data" / "memory.db"
    db.parent.mkdir()
    schema.migrate(db)
    fill(db)
    return serve_process(db=db, env=ENV)


def _rollback_c(cli: CliRunner, db: Path, copy: Path, *, from_config: bool = False) -> object:
    """``from_config``: the second copy's place comes from the settings (backupSecondCopy), not the option."""
    where = [] if from_config else ["--second-copy", str(copy)]
    env = {**ENV, "MEMORY_SYSTEM_BACKUP_SECOND_COPY": str(copy)} if from_config else ENV
    return cli(
        "rollback", "c", "--db", str(db), "--approved-by", "ann", "--approved-by", "bob",
        *where, "--yes", "--json", env=env,
    )  # fmt: skip


def test_rollback_c_ends_in_legacy_mode_with_the_loss_it_announced(
    tmp_path: Path,
    serve_process: Callable[..., ServedProcess],
    fill_phase_data: Callable[[Path], None],
    cli: CliRunner,
) -> None:
    served = _served_with_data(tmp_path, serve_process, fill_phase_data)
    db = served.db
    phase_1_before, _ = counts(db)
    with stopped_at_exit(db):
        done = _rollback_c(cli, db, tmp_path / "second", from_config=True)
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout)
        assert [s["name"] for s in result["steps"]] == [
            "approvals", "stop the service", "backup, verified, second copy", "impact, confirmed",
            "roll back 005", "roll back 004", "start in legacy mode", "verify C",
        ]  # fmt: skip
        assert result["service_was_running"] and not result["restored"]
        second = Path(result["second_copy"])
        assert second.exists() and second.parent == tmp_path / "second"

        announced = {i["migration"]: {t["table"]: t["rows"] for t in i["tables"]} for i in result["impacts"]}
        recorded = {r["migration"]: r["rows_lost"] for r in rollback_records(db)}
        assert recorded == announced and announced[4]["memories"] == 5
        assert counts(db)[0] == phase_1_before
        assert schema.status(db).current_version == 3

        url = service_record.service_url(service_record.read_start(db))
        ready = httpx.get(url + "/health/ready", timeout=10)
        assert ready.status_code == 200 and ready.json()["schema"] == "legacy"
        with MemoryClient(url, token=mint_token(db, "after-c")) as agent:
            agent.create_entities([{"name": "dave", "entityType": "person", "observations": ["joined"]}])
            assert agent.get_entity("dave").entity.observations == ["joined"]
            assert {e.name for e in agent.read_graph().entities} >= {"alice", "bob", "carol", "dave"}
            agent.delete_entities(["dave"])
        again = cli("verify", "--option", "c", "--db", str(db), "--url", url, env=ENV)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "ok   service in legacy mode" in again.stdout
        assert "ok   sample session test: legacy mode, Phase 1 only" in again.stdout


def test_a_failed_legacy_start_restores_the_backup(
    tmp_path: Path,
    serve_process: Callable[..., ServedProcess],
    fill_phase_data: Callable[[Path], None],
    cli: CliRunner,
) -> None:
    served = _served_with_data(tmp_path, serve_process, fill_phase_data)
    db = served.db
    phase_1_before, rows_before = counts(db)
    port = service_record.read_start(db).port
    squatter = PortSquatter(port)  # takes the port the moment the stopped service frees it
    try:
        with stopped_at_exit(db):
            done = _rollback_c(cli, db, tmp_path / "second")
            assert squatter.held.is_set()
    finally:
        squatter.release()
    assert done.returncode == 3, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["database_changed"] and result["restored"]
    failed = [s for s in result["steps"] if not s["ok"]]
    assert failed[0]["name"] == "start in legacy mode"
    assert "THE BACKUP WAS RESTORED AUTOMATICALLY" in done.stderr
    assert schema.status(db).current_version == schema.expected_version()
    phase_1_after, rows_after = counts(db)
    assert phase_1_after == phase_1_before
    # every row is back; the audit trails (rollback records, flag events) are carried forward
    audit = ("rollback_records", "feature_flag_events")
    assert {t: n for t, n in rows_after.items() if t not in audit} == {
        t: n for t, n in rows_before.items() if t not in audit
    }


def test_rollback_c_refuses_without_two_approvers_and_changes_nothing(
    tmp_path: Path,
    serve_process: Callable[..., ServedProcess],
    fill_phase_data: Callable[[Path], None],
    cli: CliRunner,
) -> None:
    served = _served_with_data(tmp_path, serve_process, fill_phase_data)
    done = cli(
        "rollback", "c", "--db", str(served.db), "--approved-by", "ann", "--approved-by", " ANN ", "--yes"
    )
    assert done.returncode == 1 and "needs 2 distinct approvers" in done.stderr
    assert served.proc.poll() is None  # never stopped
    assert schema.status(served.db).current_version == schema.expected_version()
