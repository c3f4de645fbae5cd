"""The outbox against a real webhook and a real SMTP server: enqueue returns at once, delivery
retries with backoff, a hanging webhook costs a command only its budget."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memory_system.core.settings import NotificationSettings
from memory_system.ops.incidents import open_incident
from memory_system.ops.notify import outbox
from memory_system.ops.notify.delivery import deliver_now
from memory_system.ops.notify.outbox import deliver_due, enqueue, list_outbox
from tests.conftest import free_port
from tests.ops.notify.conftest import Mailbox, Webhook
from tests.ops.notify.test_templates import COMPLETE, START

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _webhook_only(webhook: Webhook, **overrides: Any) -> NotificationSettings:
    return NotificationSettings(webhook_url=webhook.url, timeout_s=1.0, **overrides)


def _email(box: Mailbox, **overrides: Any) -> NotificationSettings:
    return NotificationSettings(
        smtp_host=box.host,
        smtp_port=box.port,
        smtp_from="memory-system@example.com",
        oncall_recipients=("oncall@example.com", "sre@example.com"),
        leadership_recipients=("cto@example.com",),
        timeout_s=2.0,
        **overrides,
    )


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == name]


def _wait(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_enqueue_writes_a_row_per_channel_and_sends_nothing(
    migrated_db: Path, webhook: Webhook, smtp_server: Mailbox
) -> None:
    settings = NotificationSettings(**{**_email(smtp_server).__dict__, "webhook_url": webhook.url})
    incident = open_incident(
        migrated_db,
        incident_type="rollback_c",
        severity="SEV1",
        title="rollback c",
        reason="r",
        opened_by="ann",
    )
    ids = enqueue(
        migrated_db,
        "incident_start",
        {**START, "incident_id": incident},
        settings=settings,
        incident_id=incident,
    )
    assert len(ids) == 3  # webhook, on-call email, leadership email (option C)
    rows = {r["id"]: r for r in list_outbox(migrated_db)}
    assert [rows[i]["channel"] for i in ids] == ["webhook", "email", "email"]
    assert rows[ids[1]]["recipients"] == ["oncall@example.com", "sre@example.com"]
    assert rows[ids[2]]["recipients"] == ["cto@example.com"]
    assert {r["state"] for r in rows.values()} == {"pending"} and {
        r["incident_id"] for r in rows.values()
    } == {incident}
    assert webhook.requests == 0 and smtp_server.messages == []


def test_the_webhook_receives_the_filled_template(
    migrated_db: Path, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    (notice,) = enqueue(migrated_db, "rollback_complete", COMPLETE, settings=_webhook_only(webhook))
    report = deliver_due(migrated_db, _webhook_only(webhook))
    assert report.sent == [notice]
    (payload,) = webhook.received
    assert payload["text"].startswith("*RESOLVED: memory-system rollback complete — Option A*\n")
    assert "Verification: 9/9 checks passed" in payload["text"] and "None" not in payload["text"]
    (row,) = list_outbox(migrated_db, state="sent")
    assert (row["attempts"], row["last_error"]) == (1, None) and row["sent_at"]
    assert _events(caplog, "notification_sent")[0].__dict__["notification_id"] == notice


def test_a_failing_webhook_is_retried_with_backoff_and_sent_once_it_recovers(
    migrated_db: Path, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _webhook_only(webhook)
    webhook.mode = "fail"
    (notice,) = enqueue(migrated_db, "incident_start", START, settings=settings, now=NOW)
    assert deliver_due(migrated_db, settings, NOW).retrying == [notice]
    (row,) = list_outbox(migrated_db)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert "HTTP 500" in row["last_error"] and webhook.url not in row["last_error"]
    assert row["next_attempt_at"] == "2026-12-03T10:00:05.000Z"
    assert deliver_due(migrated_db, settings, NOW + timedelta(seconds=4)).attempted == 0
    assert deliver_due(migrated_db, settings, NOW + timedelta(seconds=5)).retrying == [notice]
    assert list_outbox(migrated_db)[0]["next_attempt_at"] == "2026-12-03T10:00:35.000Z"  # 30 s after
    assert len(_events(caplog, "notification_failed")) == 2
    webhook.mode = "ok"
    assert deliver_due(migrated_db, settings, NOW + timedelta(seconds=35)).sent == [notice]
    assert list_outbox(migrated_db)[0]["attempts"] == 3 and len(webhook.received) == 1


def test_after_max_attempts_the_notice_is_failed_for_good(
    migrated_db: Path, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _webhook_only(webhook, max_attempts=2)
    webhook.mode = "fail"
    (notice,) = enqueue(migrated_db, "incident_start", START, settings=settings, now=NOW)
    deliver_due(migrated_db, settings, NOW)
    assert deliver_due(migrated_db, settings, NOW + timedelta(minutes=1)).gave_up == [notice]
    (row,) = list_outbox(migrated_db, state="failed")
    assert row["attempts"] == 2
    assert _events(caplog, "notification_gave_up")[0].levelno == logging.ERROR
    webhook.mode = "ok"
    assert deliver_due(migrated_db, settings, NOW + timedelta(hours=1)).attempted == 0


def test_a_hanging_webhook_costs_the_command_only_its_budget(migrated_db: Path, webhook: Webhook) -> None:
    settings = _webhook_only(webhook)
    webhook.mode = "hang"
    (notice,) = enqueue(migrated_db, "incident_start", START, settings=settings)
    delivery = deliver_now(migrated_db, settings, budget_s=0.2)
    _wait(lambda: webhook.requests == 1)
    assert delivery.finish() is None and not delivery.done  # returned while the send still hangs
    _wait(lambda: delivery.done)  # the send's own timeout (1 s) ends it
    (row,) = list_outbox(migrated_db)
    assert row["state"] == "pending" and "did not answer within 1 s" in row["last_error"]
    webhook.mode = "ok"
    webhook.release.set()
    later = datetime.now(UTC) + timedelta(seconds=6)
    assert deliver_due(migrated_db, settings, later).sent == [notice]


def test_deliver_now_never_raises_into_the_command(tmp_path: Path, webhook: Webhook) -> None:
    with deliver_now(tmp_path / "missing.db", _webhook_only(webhook), budget_s=5) as delivery:
        pass
    assert delivery.done and delivery.error is not None and "does not exist" in delivery.error


def test_email_reaches_on_call_and_leadership_for_option_c(migrated_db: Path, smtp_server: Mailbox) -> None:
    settings = _email(smtp_server)
    enqueue(migrated_db, "incident_start", START, settings=settings)
    assert len(deliver_due(migrated_db, settings).sent) == 2
    smtp_server.wait_for(2)
    by_recipients = {tuple(to): content for to, content in smtp_server.messages}
    assert set(by_recipients) == {("oncall@example.com", "sre@example.com"), ("cto@example.com",)}
    content = by_recipients[("cto@example.com",)]
    assert "Subject: INCIDENT: memory-system rollback started" in content
    assert "From: memory-system@example.com" in content and "Commander: ann" in content


def test_option_a_email_goes_to_on_call_only(migrated_db: Path, smtp_server: Mailbox) -> None:
    settings = _email(smtp_server)
    enqueue(migrated_db, "incident_start", {**START, "option": "A"}, settings=settings)
    deliver_due(migrated_db, settings)
    smtp_server.wait_for(1)
    assert [to for to, _ in smtp_server.messages] == [["oncall@example.com", "sre@example.com"]]


def test_a_dead_relay_is_recorded_and_retried(migrated_db: Path) -> None:
    settings = NotificationSettings(
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_from="ms@example.com",
        oncall_recipients=("oncall@example.com",),
        timeout_s=1.0,
    )
    (notice,) = enqueue(migrated_db, "incident_start", {**START, "option": "B"}, settings=settings, now=NOW)
    assert deliver_due(migrated_db, settings, NOW).retrying == [notice]
    assert "unreachable" in list_outbox(migrated_db)[0]["last_error"]


def test_no_channel_configured_writes_nothing_and_logs_once(
    migrated_db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_not_configured_logged", set())
    assert (
        enqueue(migrated_db, "incident_start", {**START, "option": "A"}, settings=NotificationSettings())
        == []
    )
    assert (
        enqueue(migrated_db, "incident_start", {**START, "option": "A"}, settings=NotificationSettings())
        == []
    )
    assert list_outbox(migrated_db) == []
    assert len(_events(caplog, "notifications_not_configured")) == 1


def test_a_bad_value_is_refused_before_anything_is_written(migrated_db: Path, webhook: Webhook) -> None:
    from memory_system.ops.notify.templates import TemplateError

    with pytest.raises(TemplateError, match="commander"):
        enqueue(migrated_db, "incident_start", {**START, "commander": None}, settings=_webhook_only(webhook))
    assert list_outbox(migrated_db) == []


def test_list_refuses_an_unknown_state(migrated_db: Path) -> None:
    from memory_system.core.errors import ServiceError

    with pytest.raises(ServiceError, match="pending, sent, failed"):
        list_outbox(migrated_db, state="queued")
