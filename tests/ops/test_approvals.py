"""Approval requests gate ``db rollback``: one manager and one DBA approval from two different
people, on a pending, unexpired request of this database; free-text names only in an emergency."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory_system.auth.approvers import ApproverService
from memory_system.core.errors import StoreError
from memory_system.ops import backup as backups
from memory_system.ops import schema
from memory_system.ops.approvals import (
    DB_ROLLBACK,
    ROLLBACK_C,
    ApprovalRefused,
    ApprovalService,
    ApproverNotAuthorised,
    RequestNotFound,
    check_grant,
    render_template,
)
from memory_system.ops.db_rollback import RollbackRefused, execute_rollback, plan_rollback
from memory_system.ops.impact import impact
from memory_system.store import approval_requests as request_store
from memory_system.store import database_ops as maintenance
from memory_system.store.connection import Database, open_connection
from tests.ops._approvals import approved_request


@pytest.fixture
def filled(migrated_db: Path, fill_phase_data) -> Path:
    fill_phase_data(migrated_db)
    return migrated_db


@pytest.fixture
def service(filled: Path) -> Iterator[ApprovalService]:
    with Database(filled) as db:
        yield ApprovalService(db, ApproverService(db))


def _state(db: Path, request_id: int) -> str:
    conn = open_connection(db, create=False)
    try:
        record = request_store.get_request(conn, request_id)
    finally:
        conn.close()
    assert record is not None
    return record.state


def test_the_template_is_filled_in_with_real_values(filled: Path, service: ApprovalService) -> None:
    made = backups.create_backup(filled)
    view = service.request(
        action=DB_ROLLBACK,
        migration=5,
        reason="embeddings  corrupt",
        requested_by="oncall",
        backup_path=made.path,
    )
    t = view.record.details
    assert (
        view.record.state == "pending"
        and t["reason"] == "embeddings corrupt"
        and t["requested_by"] == "oncall"
    )
    assert t["migrations"] == [5] and t["impact"]["rows_lost"] == impact(filled, 5).rows_lost()
    assert (
        t["backup"]["path"] == str(made.path.resolve()) and t["backup"]["sha256"] == made.manifest["sha256"]
    )
    assert t["backup"]["age_minutes"] == 0 and t["backup"]["sha256_checked"] is True
    assert t["estimated_downtime_s"] >= 5.0 and t["approvals_needed"] == ["manager", "dba"]
    created = datetime.fromisoformat(t["requested_at"])
    assert datetime.fromisoformat(t["expires_at"]) - created == timedelta(hours=4)

    c = service.request(action=ROLLBACK_C, reason="tiers", requested_by="oncall").record.details
    assert c["migrations"] == [5, 4] and c["impact"]["rows_lost"]["memories"] == 5
    assert c["backup"]["path"] == str(made.path.resolve())  # the newest backup of this database on file
    text = render_template(service.show(2))
    assert "Migrations rolled back: 005, 004" in text and "memories 5" in text and "Reason: tiers" in text


def test_rollback_proceeds_with_a_manager_and_a_dba_and_uses_the_request(filled: Path) -> None:
    approved = approved_request(filled, action=DB_ROLLBACK, migration=5)
    made = backups.create_backup(filled)
    plan = plan_rollback(filled, 5, backup_path=made.path, request_id=approved.request_id)
    assert plan.approvers == ["Alice Manager (manager)", "Bob DBA (dba)"] and not plan.waived
    result = execute_rollback(plan)
    assert result.verified, result.problems()
    assert _state(filled, approved.request_id) == "used"
    conn = open_connection(filled, create=False)
    [record] = maintenance.rollback_records(conn)
    conn.close()
    assert record["approved_by"] == plan.approvers and not record["emergency"]
    assert record["details"]["approval_request"]["request_id"] == approved.request_id
    # one request, one rollback: the 004 rollback after it needs its own
    with pytest.raises(RollbackRefused, match="already used.*db rollback --migration 005 --request-approval"):
        plan_rollback(filled, 4, backup_path=made.path, request_id=approved.request_id)


def test_a_request_approves_only_its_migrations(filled: Path) -> None:
    approved = approved_request(filled, action=DB_ROLLBACK, migration=5)
    with pytest.raises(RollbackRefused, match="approves rolling back 005, not 004"):
        plan_rollback(
            filled, 4, backup_path=backups.create_backup(filled).path, request_id=approved.request_id
        )


def test_a_used_request_cannot_be_used_again(filled: Path) -> None:
    approved = approved_request(filled, action=DB_ROLLBACK, migration=5)
    made = backups.create_backup(filled)
    first = plan_rollback(filled, 5, backup_path=made.path, request_id=approved.request_id)
    second = plan_rollback(filled, 5, backup_path=made.path, request_id=approved.request_id)
    execute_rollback(first)
    schema.migrate(filled)  # 005 back, so only the request stands in the way
    with pytest.raises(RollbackRefused, match="already used"):
        execute_rollback(second)
    with pytest.raises(RollbackRefused, match="already used"):
        plan_rollback(
            filled, 5, backup_path=backups.create_backup(filled).path, request_id=approved.request_id
        )


def test_two_approvals_from_one_person_are_refused(filled: Path, service: ApprovalService) -> None:
    people = ApproverService(service._db)
    manager = people.create("Ann Lee", "manager")
    same = people.create("  ann   lee ", "dba")
    request = service.request(action=ROLLBACK_C, reason="r", requested_by="oncall").record.id
    service.approve(request, manager.token)
    with pytest.raises(ApprovalRefused, match="must come from another person"):
        service.approve(request, same.token)
    with service._db.write() as conn:  # as if written past the check: the rollback refuses too
        request_store.insert_approval(conn, request, same.record.id, "dba")
    made = backups.create_backup(filled)
    with pytest.raises(RollbackRefused, match="two different people"):
        plan_rollback(filled, 5, backup_path=made.path, request_id=request)
    assert _state(filled, request) == "pending"


def test_a_revoked_approvers_approval_does_not_count(filled: Path, service: ApprovalService) -> None:
    approved = approved_request(filled)
    people = ApproverService(service._db)
    (manager,) = [p for p in people.list() if p.role == "manager"]
    people.revoke(manager.token_id)
    made = backups.create_backup(filled)
    with pytest.raises(RollbackRefused, match="lacks the manager approval.*approver revoked"):
        plan_rollback(filled, 5, backup_path=made.path, request_id=approved.request_id)
    with pytest.raises(ApproverNotAuthorised):
        service.approve(approved.request_id, approved.manager_token)
    assert service.show(approved.request_id).missing_roles() == ["manager"]


def test_an_expired_request_is_refused_and_listed_as_expired(filled: Path, service: ApprovalService) -> None:
    approved = approved_request(filled)
    made = backups.create_backup(filled)
    later = datetime.now(UTC) + timedelta(hours=4, minutes=1)
    with pytest.raises(RollbackRefused, match="expired"):
        plan_rollback(filled, 5, backup_path=made.path, request_id=approved.request_id, now=later)
    with pytest.raises(ApprovalRefused, match="expired"):
        service.approve(approved.request_id, approved.manager_token, now=later)
    assert service.list(now=later) == []
    assert [v.record.state for v in service.list(pending_only=False)] == ["expired"]


def test_approvals_are_checked_per_role_and_token(filled: Path, service: ApprovalService) -> None:
    people = ApproverService(service._db)
    first, second = people.create("Alice", "manager"), people.create("Carol", "manager")
    request = service.request(action=ROLLBACK_C, reason="r", requested_by="oncall").record.id
    with pytest.raises(ApproverNotAuthorised):
        service.approve(request, "msa_not-a-token")
    service.approve(request, first.token)
    with pytest.raises(ApprovalRefused, match="already approved"):
        service.approve(request, first.token)
    with pytest.raises(ApprovalRefused, match="already has the manager approval"):
        service.approve(request, second.token)
    with pytest.raises(RequestNotFound):
        service.approve(99, first.token)
    made = backups.create_backup(filled)
    with pytest.raises(RollbackRefused, match="lacks the dba approval"):
        plan_rollback(filled, 5, backup_path=made.path, request_id=request)


def test_a_request_of_another_database_is_refused(filled: Path) -> None:
    approved = approved_request(filled)
    conn = open_connection(filled, create=False)
    try:
        with pytest.raises(ApprovalRefused, match="not this one"):
            check_grant(conn, approved.request_id, database_id="other", migrations=[5])
    finally:
        conn.close()


def test_free_text_names_only_with_emergency(filled: Path, caplog: pytest.LogCaptureFixture) -> None:
    made = backups.create_backup(filled)
    with pytest.raises(RollbackRefused, match="only with --emergency"):
        plan_rollback(filled, 5, backup_path=made.path, approved_by=["alice", "bob"])
    with pytest.raises(RollbackRefused, match="needs an approval request"):
        plan_rollback(filled, 5, backup_path=made.path)
    plan = plan_rollback(filled, 5, backup_path=made.path, approved_by=["alice", "bob"], emergency=True)
    assert plan.free_text_approvers and plan.to_dict()["emergency"] is True
    with caplog.at_level(logging.INFO, logger="memory_system.ops.db_rollback"):
        execute_rollback(plan)
    [critical] = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert "db_rollback_emergency" in critical.getMessage()
    conn = open_connection(filled, create=False)
    [record] = maintenance.rollback_records(conn)
    conn.close()
    assert record["emergency"] and record["details"]["free_text_approvers"] is True
    assert record["approved_by"] == ["alice", "bob"]


def test_bad_requests_change_nothing(filled: Path, service: ApprovalService) -> None:
    for kwargs, message in (
        ({"action": "drop_all"}, "action"),
        ({"reason": "  "}, "--reason"),
        ({"action": DB_ROLLBACK, "migration": 3}, "Phase 2-4"),
        ({"ttl": timedelta(0)}, "expiry"),
    ):
        args = {"action": ROLLBACK_C, "reason": "r", "requested_by": "oncall", **kwargs}
        with pytest.raises(ApprovalRefused, match=message):
            service.request(**args)  # type: ignore[arg-type]
    assert service.list(pending_only=False) == []


def test_a_database_without_migration_006_says_so(db_file: Path) -> None:
    schema.migrate(db_file, to=5)
    conn = open_connection(db_file, create=False)
    try:
        identity = maintenance.database_id(conn)
        assert identity is not None
        with pytest.raises(ApprovalRefused, match="migration 006"):
            check_grant(conn, 1, database_id=identity, migrations=[5])
    finally:
        conn.close()
    with pytest.raises(StoreError, match="migration 006"):
        plan_rollback(db_file, 5, backup_path=None, request_id=1)
