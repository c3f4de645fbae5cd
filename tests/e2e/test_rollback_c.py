"""``rollback c`` against a real ``memory-system serve`` with Phase 2-4 data: it ends in
legacy mode with Phase 1 working and verify C passing, the loss shown beforehand is the loss
recorded, and when the legacy start fails for a real reason the backup comes back by itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from memory_system.client import MemoryClient
from memory_system.ops import incidents, schema, service_record
from tests.conftest import CliRunner, ServedProcess
from tests.e2e._service import ADMIN, PortSquatter, counts, mint_token, rollback_records, stopped_at_exit
from tests.ops._approvals import approved_request

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
    """``from_config``: the second copy's place comes from the settings (backupSecondCopy), not the
    option. The approvals are real: a manager and a DBA approved a request with their tokens."""
    where = [] if from_config else ["--second-copy", str(copy)]
    env = {**ENV, "MEMORY_SYSTEM_BACKUP_SECOND_COPY": str(copy)} if from_config else ENV
    request = approved_request(db).request_id
    return cli(
        "rollback", "c", "--db", str(db), "--request", str(request),
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
            "approvals", "stop the service", "approval request used", "backup, verified, second copy",
            "impact, confirmed",
            "roll back 005", "roll back 004", "start in legacy mode", "verify C",
        ]  # fmt: skip
        assert result["service_was_running"] and not result["restored"]
        second = Path(result["second_copy"])
        assert second.exists() and second.parent == tmp_path / "second"

        announced = {i["migration"]: {t["table"]: t["rows"] for t in i["tables"]} for i in result["impacts"]}
        recorded = {r["migration"]: r["rows_lost"] for r in rollback_records(db)}
        assert recorded == announced and announced[4]["memories"] == 5
        incident = incidents.get_incident(db, result["incident"])  # SEV1, with what it cost
        assert incident["severity"] == "SEV1" and incident["backup_location"] == result["backup"]
        lost = {t: sum(by.get(t, 0) for by in announced.values()) for by in announced.values() for t in by}
        assert incident["data_loss"] == lost and incident["downtime_seconds"] > 0
        assert all(c["ok"] for c in incident["checklist"]) and incident["checklist"]
        assert counts(db)[0] == phase_1_before
        assert result["approval_request"]["approvers"] == [
            {"name": "Alice Manager", "role": "manager"},
            {"name": "Bob DBA", "role": "dba"},
        ]
        assert {tuple(r["approved_by"]) for r in rollback_records(db)} == {
            ("Alice Manager (manager)", "Bob DBA (dba)")
        }
        assert schema.status(db).state == "legacy"  # 005 and 004 gone, 006 (operational) kept

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
    # every row is back; the audit trails (rollback records, flag events) are carried forward,
    # and the approvals made after the snapshot are in the backup, their request used up
    audit = (
        "rollback_records",
        "feature_flag_events",
        "approvers",
        "approval_requests",
        "approvals",
        "incidents",
    )
    assert rows_after["approvals"] == 2
    # the rollback's incident, opened before the backup, says what happened after it
    incident = incidents.get_incident(db, result["incident"])
    assert rows_after["incidents"] == 1 and incident["incident_type"] == "rollback_c"
    assert incident["details"]["restored"] is True and incident["details"]["ok"] is False
    assert {c["check"] for c in incident["checklist"] if not c["ok"]} or incident["details"]["error"]
    assert (
        json.loads(cli("approve", "--list", "--all", "--db", str(db), "--json").stdout)[0]["state"] == "used"
    )
    assert {t: n for t, n in rows_after.items() if t not in audit} == {
        t: n for t, n in rows_before.items() if t not in audit
    }


def test_rollback_c_refuses_without_real_approvals_and_changes_nothing(
    tmp_path: Path,
    serve_process: Callable[..., ServedProcess],
    fill_phase_data: Callable[[Path], None],
    cli: CliRunner,
) -> None:
    served = _served_with_data(tmp_path, serve_process, fill_phase_data)
    db = str(served.db)
    typed = cli("rollback", "c", "--db", db, "--approved-by", "ann", "--approved-by", "bob", "--yes")
    assert typed.returncode == 1 and "only with --emergency" in typed.stderr

    # one person holding both roles: the second approval is refused, so the request lacks the DBA
    tokens = {
        role: cli(
            "tokens", "create", "--approver", name, "--role", role, "--db", db, check=True
        ).stdout.strip()
        for name, role in (("Ann Lee", "manager"), (" ann  LEE", "dba"))
    }
    made = cli(
        "rollback", "c", "--request-approval", "--reason", "bad tiers", "--db", db, "--json", check=True
    )
    request = str(json.loads(made.stdout)["id"])
    for role, token in tokens.items():
        approved = cli(
            "approve", "--request", request, "--db", db, env={"MEMORY_SYSTEM_APPROVER_TOKEN": token}
        )
        assert approved.returncode == (0 if role == "manager" else 1), approved.stderr
    assert "must come from another person" in approved.stderr
    done = cli(
        "rollback", "c", "--db", db, "--request", request, "--second-copy", str(tmp_path / "c"), "--yes"
    )
    assert done.returncode == 1 and "lacks the dba approval" in done.stderr, done.stderr
    assert served.proc.poll() is None  # never stopped
    assert schema.status(served.db).current_version == schema.expected_version()
