"""``/admin/approvals`` on a real ``memory-system serve``: the admin token lists the requests,
each approver's own token (``X-Approver-Token``) records an approval; the admin token cannot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from memory_system.auth.approvers import ApproverService
from memory_system.ops import schema
from memory_system.ops.approvals import ROLLBACK_C, ApprovalService
from memory_system.store.connection import Database

ADMIN = "approvals-admin-token-0123456789"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}


def test_list_and_approve_over_http(serve_process: Callable[..., Any], tmp_path: Path) -> None:
    db_path = tmp_path / "m.db"
    schema.migrate(db_path)
    with Database(db_path) as db:
        people = ApproverService(db)
        manager, dba = people.create("Alice", "manager"), people.create("Bob", "dba")
        ApprovalService(db, people).request(action=ROLLBACK_C, reason="tiers corrupt", requested_by="oncall")
    url = serve_process(db=db_path, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}).url
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/admin/approvals").status_code == 401
        listed = client.get("/admin/approvals", headers=HEADERS)
        assert listed.status_code == 200, listed.text
        (request,) = listed.json()["requests"]
        assert request["id"] == 1 and request["state"] == "pending" and request["reason"] == "tiers corrupt"
        assert request["template"]["migrations"] == [5, 4] and request["missing_roles"] == ["manager", "dba"]

        as_admin = client.post("/admin/approvals/1", headers=HEADERS)
        assert as_admin.status_code == 401 and "X-Approver-Token" in as_admin.json()["message"]
        forged = client.post("/admin/approvals/1", headers={"X-Approver-Token": "msa_forged"})
        assert forged.status_code == 401
        assert (
            client.post("/admin/approvals/9", headers={"X-Approver-Token": manager.token}).status_code == 404
        )

        first = client.post("/admin/approvals/1", headers={"X-Approver-Token": manager.token})
        assert first.status_code == 200, first.text
        assert first.json()["missing_roles"] == ["dba"]
        again = client.post("/admin/approvals/1", headers={"X-Approver-Token": manager.token})
        assert again.status_code == 409 and "already approved" in again.json()["message"]
        second = client.post("/admin/approvals/1", headers={"X-Approver-Token": dba.token})
        assert second.status_code == 200 and second.json()["missing_roles"] == []
        assert [a["name"] for a in second.json()["approvals"]] == ["Alice", "Bob"]

        assert client.get("/admin/approvals", params={"all": "true"}, headers=HEADERS).json()["requests"]
        assert client.post("/admin/approvals/0", headers={"X-Approver-Token": dba.token}).status_code == 422
