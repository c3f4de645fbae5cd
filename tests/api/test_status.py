"""The public status page: ``/status`` (HTML) and ``/status.json`` from a real ``serve``
subprocess, with no token; normal mode, an open incident's title, legacy mode after option C's
``db rollback`` of 005 and 004, and none of the internals (database path, admin token, reason,
flags). Then ``/admin/incidents`` in-process, behind the admin token."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from memory_system.api.app import create_app
from memory_system.api.status import render
from memory_system.core.settings import Settings
from memory_system.ops import incidents
from memory_system.ops.db_rollback import execute_rollback, plan_rollback
from memory_system.runtime import Runtime

get = partial(httpx.get, timeout=30)
ADMIN_TOKEN = "status-page-admin-token-0123456789abcdef"
SECRET_REASON = "index corrupt at /var/lib/secret-internal-path"


def _assert_no_internals(text: str, db: Path) -> None:
    for internal in (
        str(db),
        str(db.parent),
        ADMIN_TOKEN,
        SECRET_REASON,
        "USE_ENHANCED_INJECTION",
        "oncall-ann",
    ):
        assert internal not in text, internal


def test_status_normal_then_incident_then_legacy(serve_process: Any, tmp_path: Path) -> None:
    db = tmp_path / "svc" / "memory.db"
    served = serve_process(db=db, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN_TOKEN})
    body = get(served.url + "/status.json").json()
    assert body["mode"] == "normal" and body["incidents"] == [] and body["updated_at"]
    page = get(served.url + "/status")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-mode="normal"' in page.text and "No open incidents." in page.text

    incidents.open_incident(
        db,
        incident_type="rollback_c",
        severity="SEV1",
        title="Memory search unavailable",
        reason=SECRET_REASON,
        flags=["USE_ENHANCED_INJECTION"],
        opened_by="oncall-ann",
    )
    body = get(served.url + "/status.json").json()
    assert [(i["title"], i["severity"]) for i in body["incidents"]] == [("Memory search unavailable", "SEV1")]
    page = get(served.url + "/status")
    assert "Memory search unavailable" in page.text and "SEV1" in page.text
    _assert_no_internals(page.text, db)
    _assert_no_internals(get(served.url + "/status.json").text, db)
    assert served.stop() == 0

    for version in (5, 4):  # option C's end state, as db rollback leaves it
        execute_rollback(plan_rollback(db, version, backup_path=None, approved_by=[], emergency=True))
    legacy = serve_process(db=db, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN_TOKEN})
    body = get(legacy.url + "/status.json").json()
    assert body["mode"] == "legacy" and body["incidents"][0]["title"] == "Memory search unavailable"
    page = get(legacy.url + "/status")
    assert 'data-mode="legacy"' in page.text and "Memory search unavailable" in page.text
    _assert_no_internals(page.text, db)


def test_the_page_escapes_titles() -> None:
    html = render(
        {
            "mode": "degraded",
            "message": "m",
            "incidents": [{"title": "<script>x</script>", "severity": "SEV2", "started_at": "t"}],
            "updated_at": "u",
        }
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and 'http-equiv="refresh"' in html


def test_admin_incidents_need_the_token(migrated_db: Path, tmp_path: Path) -> None:
    incident_id = incidents.open_incident(
        migrated_db,
        incident_type="drill",
        severity="SEV3",
        title="drill a",
        reason="quarterly",
        opened_by="ci",
    )
    incidents.add_note(migrated_db, incident_id, author="ci", body="step 1 done")
    settings = Settings(db_path=migrated_db, config_path=tmp_path / "none.json", admin_token=ADMIN_TOKEN)
    runtime = Runtime(settings)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        with TestClient(create_app(runtime)) as client:
            assert client.get("/admin/incidents").status_code == 401
            listed = client.get("/admin/incidents", headers=admin, params={"status": "open"}).json()
            assert [i["title"] for i in listed["incidents"]] == ["drill a"]
            one = client.get(f"/admin/incidents/{incident_id}", headers=admin).json()
            assert one["reason"] == "quarterly" and [n["body"] for n in one["notes"]] == ["step 1 done"]
            missing = client.get("/admin/incidents/99", headers=admin)
            assert missing.status_code == 404 and "no incident 99" in missing.text
            assert client.get("/admin/incidents", headers=admin, params={"status": "x"}).status_code == 422
    finally:
        runtime.close()
