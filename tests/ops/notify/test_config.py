"""The ``notifications`` section: env overrides the file, bad values name their key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memory_system.core.config import ConfigError
from memory_system.core.settings_loader import load_settings


def _load(tmp_path: Path, section: object, env: dict[str, str] | None = None) -> Any:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"notifications": section}))
    return load_settings({"db_path": tmp_path / "m.db", "config_path": config}, env or {}).notifications


def test_the_file_and_env_fill_the_section(tmp_path: Path) -> None:
    notify = _load(
        tmp_path,
        {
            "webhookUrl": "https://hooks.example.com/T1",
            "smtpHost": "relay",
            "smtpFrom": "ms@example.com",
            "oncallRecipients": ["oncall@example.com"],
            "maxAttempts": 3,
        },
        {
            "MEMORY_SYSTEM_NOTIFY_SMTP_PORT": "2525",
            "MEMORY_SYSTEM_NOTIFY_LEADERSHIP_RECIPIENTS": "cto@example.com, vp@example.com",
            "MEMORY_SYSTEM_NOTIFY_SMTP_USERNAME": "ms",
            "MEMORY_SYSTEM_SMTP_PASSWORD": "s3cret",
        },
    )
    assert notify.webhook_url == "https://hooks.example.com/T1"
    assert (notify.smtp_host, notify.smtp_port, notify.max_attempts) == ("relay", 2525, 3)
    assert notify.leadership_recipients == ("cto@example.com", "vp@example.com")
    assert notify.smtp_password == "s3cret" and "s3cret" not in repr(notify)


def test_no_section_configures_no_channel(tmp_path: Path) -> None:
    notify = load_settings({"db_path": tmp_path / "m.db"}, {}).notifications
    assert notify.webhook_url is None and not notify.email_configured


@pytest.mark.parametrize(
    ("section", "env", "match"),
    [
        (
            {"webhookUrl": "ftp://hooks.example.com/x"},
            {},
            r"notifications\.webhookUrl .* http:// or https://",
        ),
        ({}, {"MEMORY_SYSTEM_NOTIFY_WEBHOOK_URL": "hooks.example.com"}, "MEMORY_SYSTEM_NOTIFY_WEBHOOK_URL"),
        ({"smtpPort": 70000}, {}, r"notifications\.smtpPort .*=70000 is out of range 1\.\.65535"),
        ({}, {"MEMORY_SYSTEM_NOTIFY_SMTP_PORT": "many"}, "MEMORY_SYSTEM_NOTIFY_SMTP_PORT='many'"),
        ({"smtpPassword": "x"}, {}, "set MEMORY_SYSTEM_SMTP_PASSWORD"),
        ({"smtpHots": "relay"}, {}, r"notifications\.smtpHots is not a notification setting"),
        ({"oncallRecipients": ["a@example.com"]}, {}, r"notifications\.smtpHost"),
        ({"smtpHost": "relay", "oncallRecipients": ["a@example.com"]}, {}, r"notifications\.smtpFrom"),
        (
            {"smtpHost": "relay", "smtpFrom": "ms@example.com", "oncallRecipients": ["oncall"]},
            {},
            r"notifications\.oncallRecipients .* 'oncall' is not an email address",
        ),
        ({"timeoutS": 0}, {}, r"notifications\.timeoutS"),
        ({"maxAttempts": 0}, {}, r"notifications\.maxAttempts"),
        ("https://hooks.example.com", {}, "notifications must be a JSON object"),
    ],
)
def test_bad_config_is_an_error_naming_the_key(
    tmp_path: Path, section: object, env: dict[str, str], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path, section, env)
