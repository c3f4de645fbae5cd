"""``memory-system notify test|list|deliver`` against a real webhook and SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

from memory_system.core.settings import NotificationSettings
from memory_system.ops.notify.outbox import enqueue
from tests.conftest import CliRunner
from tests.ops.notify import conftest as servers
from tests.ops.notify.conftest import Mailbox, Webhook
from tests.ops.notify.test_templates import START

# The real webhook and SMTP server of tests/ops/notify, as fixtures here too.
webhook = servers.webhook
smtp_server = servers.smtp_server


def _config(tmp_path: Path, section: dict[str, object]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"notifications": section}))
    return str(path)


def test_notify_test_sends_to_the_webhook(cli: CliRunner, tmp_path: Path, webhook: Webhook) -> None:
    config = _config(tmp_path, {"webhookUrl": webhook.url})
    done = cli("notify", "test", "--channel", "webhook", "--config", config, check=True)
    assert "webhook: sent" in done.stdout
    assert webhook.received[0]["text"].startswith("*memory-system notification test*")


def test_notify_test_exits_1_with_the_error_when_the_webhook_fails(
    cli: CliRunner, tmp_path: Path, webhook: Webhook
) -> None:
    webhook.mode = "fail"
    done = cli(
        "notify",
        "test",
        "--config",
        _config(tmp_path, {}),
        env={"MEMORY_SYSTEM_NOTIFY_WEBHOOK_URL": webhook.url},
    )
    assert done.returncode == 1
    assert "webhook: webhook answered HTTP 500" in done.stderr


def test_notify_test_sends_email_through_the_relay(
    cli: CliRunner, tmp_path: Path, smtp_server: Mailbox
) -> None:
    config = _config(
        tmp_path,
        {
            "smtpHost": smtp_server.host,
            "smtpPort": smtp_server.port,
            "smtpFrom": "ms@example.com",
            "oncallRecipients": ["oncall@example.com"],
        },
    )
    assert "email: sent" in cli("notify", "test", "--channel", "email", "--config", config, check=True).stdout
    smtp_server.wait_for(1)
    assert smtp_server.messages[0][0] == ["oncall@example.com"]


def test_notify_test_without_a_channel_or_with_bad_config_says_what_to_set(
    cli: CliRunner, tmp_path: Path
) -> None:
    none = cli("notify", "test", "--config", _config(tmp_path, {}))
    assert none.returncode == 1 and "no notification channel is configured" in none.stderr
    email = cli("notify", "test", "--channel", "email", "--config", _config(tmp_path, {}))
    assert email.returncode == 1 and "the email channel is not configured" in email.stderr
    bad = cli("notify", "test", "--config", _config(tmp_path, {"smtpPort": 0}))
    assert bad.returncode == 1 and "notifications.smtpPort" in bad.stderr


def test_notify_list_and_deliver(cli: CliRunner, migrated_db: Path, tmp_path: Path, webhook: Webhook) -> None:
    settings = NotificationSettings(webhook_url=webhook.url)
    (notice,) = enqueue(migrated_db, "incident_start", START, settings=settings)
    pending = cli("notify", "list", "--state", "pending", "--json", "--db", str(migrated_db), check=True)
    assert [n["id"] for n in json.loads(pending.stdout)] == [notice]
    config = _config(tmp_path, {"webhookUrl": webhook.url})
    delivered = cli("notify", "deliver", "--db", str(migrated_db), "--config", config, check=True)
    assert "1 sent, 0 to retry, 0 given up" in delivered.stdout
    table = cli("notify", "list", "--db", str(migrated_db), check=True).stdout
    assert "incident_start" in table and "sent" in table
    bad = cli("notify", "list", "--state", "queued", "--db", str(migrated_db))
    assert bad.returncode == 1 and "pending, sent, failed" in bad.stderr
