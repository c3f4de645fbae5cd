"""A rollback is an incident and is announced: ``rollback a`` against a real service opens an
incident and posts the runbook's incident-start and rollback-complete notices to a real
webhook, filled with this rollback's values; a webhook that hangs does not stop it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from memory_system.ops import incidents
from memory_system.ops.notify import outbox
from tests.conftest import CliRunner, ServedProcess
from tests.e2e._service import ADMIN

from .conftest import Webhook


def _rollback_a(cli: CliRunner, served: ServedProcess, hook: str) -> dict[str, object]:
    done = cli(
        "rollback",
        "a",
        "--url",
        served.url,
        "--db",
        str(served.db),
        "--flag",
        "USE_ENHANCED_INJECTION",
        "--reason",
        "injection p95 over 500 ms",
        "--json",
        env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN, "MEMORY_SYSTEM_NOTIFY_WEBHOOK_URL": hook},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_rollback_a_opens_an_incident_and_announces_start_and_end(
    serve_process, cli: CliRunner, webhook: Webhook
) -> None:
    served: ServedProcess = serve_process(env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    result = _rollback_a(cli, served, webhook.url)
    incident_id = result["incident"]
    assert isinstance(incident_id, int)
    deadline = time.monotonic() + 10
    while len(webhook.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    texts = [message["text"] for message in webhook.received]
    assert len(texts) == 2, texts
    start, end = texts
    assert "INCIDENT: memory-system rollback started — Option A" in start
    assert "Reason: injection p95 over 500 ms" in start and f"Incident #{incident_id}" in start
    assert "Flags: USE_ENHANCED_INJECTION" in start and "Severity: SEV2" in start
    checks = result["checks"]
    assert isinstance(checks, list)
    assert "RESOLVED: memory-system rollback complete — Option A" in end
    assert f"Verification: {len(checks)}/{len(checks)} checks passed" in end
    assert "Data lost: none" in end and f"{served.url}/status" in end

    incident = incidents.get_incident(served.db, incident_id)
    assert incident["reason"] == "injection p95 over 500 ms" and incident["flags"] == [
        "USE_ENHANCED_INJECTION"
    ]
    sent = outbox.list_outbox(served.db)
    assert sorted(row["template"] for row in sent) == ["incident_start", "rollback_complete"]
    assert {row["state"] for row in sent} == {"sent"} and {row["incident_id"] for row in sent} == {
        incident_id
    }


def test_a_hanging_webhook_does_not_stop_the_rollback(
    serve_process, cli: CliRunner, webhook: Webhook
) -> None:
    webhook.mode = "hang"
    served: ServedProcess = serve_process(env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    result = _rollback_a(cli, served, webhook.url)
    assert result["ok"] is True
    assert webhook.requests >= 1  # it was tried while the rollback ran
    rows = outbox.list_outbox(Path(served.db))
    assert sorted(row["template"] for row in rows) == ["incident_start", "rollback_complete"]
    assert {row["state"] for row in rows} <= {"pending", "sent"}  # retried later, by the service
