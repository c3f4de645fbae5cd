"""The notification outbox: a rollback writes its notices and goes on; delivery comes after.

``enqueue`` renders a template and writes one ``notifications`` row per configured channel
(the webhook; email to the on-call list; email to the leadership list when the template asks
for it, as option C and emergency overrides do) and returns at once: nothing is sent there,
so a dead webhook or relay cannot slow the caller. With no channel configured nothing is
written, and ``notifications_not_configured`` is logged once per process.

``deliver_due`` sends what is due, one row at a time: a row is claimed, sent, and marked
``sent``; a failure increments ``attempts``, stores ``last_error`` and schedules the next try
after ``BACKOFF_S`` (5 s, 30 s, 2 min, 10 min, then every 30 min) until ``maxAttempts``, when
the row is ``failed``. The service runs it every few seconds (delivery.DeliveryWorker); CLI
commands run it in the background (delivery.deliver_now).

Every function takes the database as a path (the CLI: its own connection, closed after) or
as the service's open ``Database``. The table is a base one (006): notices work in legacy mode.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.core.errors import ServiceError, StoreError, StoreSchemaMissing
from memory_system.core.logging import log_event
from memory_system.core.settings import NotificationSettings, Settings
from memory_system.ops.notify.channels import DeliveryError, send_email, send_webhook
from memory_system.ops.notify.templates import Message, render
from memory_system.store import database_ops
from memory_system.store import notifications as sql
from memory_system.store.connection import Connection, Database, open_connection, transaction

__all__ = [
    "BACKOFF_S",
    "DatabaseHandle",
    "DeliveryReport",
    "channels_for",
    "deliver_due",
    "enqueue",
    "list_outbox",
    "retry_delay_s",
    "send_test",
]

_log = logging.getLogger("memory_system.ops.notify")

DatabaseHandle = Path | str | Database
BACKOFF_S = (5.0, 30.0, 120.0, 600.0, 1800.0)
_ERROR_LIMIT = 500
_not_configured_logged: set[str] = set()
_not_configured_lock = threading.Lock()


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    gave_up: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.gave_up)


def _notify_settings(settings: Settings | NotificationSettings) -> NotificationSettings:
    return settings.notifications if isinstance(settings, Settings) else settings


def retry_delay_s(attempts: int) -> float:
    """How long after its ``attempts``-th failure a notice is tried again."""
    return BACKOFF_S[min(max(attempts, 1), len(BACKOFF_S)) - 1]


def _missing_once(what: str, advice: str) -> None:
    with _not_configured_lock:
        if what in _not_configured_logged:
            return
        _not_configured_logged.add(what)
    log_event(_log, "notifications_not_configured", logging.WARNING, missing=what, advice=advice)


@contextmanager
def _connection(db: DatabaseHandle, *, write: bool) -> Iterator[Connection]:
    try:
        if isinstance(db, Database):
            if write:
                with db.write() as conn:
                    yield conn
            else:
                yield db.reader()
            return
        database_ops.require_memory_database(Path(db))
        conn = open_connection(Path(db), create=False)
        try:
            if write:
                with transaction(conn):
                    yield conn
            else:
                yield conn
        finally:
            conn.close()
    except StoreSchemaMissing as exc:
        path = db.path if isinstance(db, Database) else db
        raise StoreError(
            f"{path} has no notification outbox ({exc}); run 'memory-system db migrate --db {path}' first"
        ) from exc


def channels_for(message: Message, settings: NotificationSettings) -> list[tuple[str, list[str], str]]:
    """(channel, recipients, body) for each configured channel ``message`` goes to."""
    rows: list[tuple[str, list[str], str]] = []
    if message.team:
        if settings.webhook_url is not None:
            rows.append(("webhook", [], message.slack_text))
        if settings.email_configured and settings.oncall_recipients:
            rows.append(("email", list(settings.oncall_recipients), message.text))
    if message.leadership:
        if settings.email_configured and settings.leadership_recipients:
            rows.append(("email", list(settings.leadership_recipients), message.text))
        else:
            _missing_once(
                "leadership_recipients",
                "leadership notices (option C, emergency overrides) go nowhere: set "
                "notifications.smtpHost and leadershipRecipients",
            )
    return rows


def enqueue(
    db: DatabaseHandle,
    template: str,
    values: Mapping[str, Any],
    *,
    settings: Settings | NotificationSettings,
    incident_id: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Write ``template``'s notice for each configured channel; the new row ids ([] when no
    channel is configured). A bad value is a ``TemplateError``; nothing is sent here."""
    notify = _notify_settings(settings)
    message = render(template, values)
    rows = channels_for(message, notify)
    if not rows:
        if message.team:
            _missing_once(
                "channels",
                "no notice is sent: set notifications.webhookUrl, or smtpHost, smtpFrom and oncallRecipients",
            )
        return []
    due = format_utc(now or datetime.now(UTC))
    with _connection(db, write=True) as conn:
        ids = [
            sql.insert(
                conn,
                channel=channel,
                template=template,
                recipients=recipients,
                subject=message.subject,
                body=body,
                incident_id=incident_id,
                next_attempt_at=due,
            )
            for channel, recipients, body in rows
        ]
    log_event(
        _log,
        "notification_queued",
        notification_ids=ids,
        template=template,
        channels=[c for c, _, _ in rows],
        incident_id=incident_id,
    )
    return ids


def _send(record: sql.NotificationRecord, settings: NotificationSettings) -> list[str]:
    if record.channel == "webhook":
        send_webhook(settings, record.body)
        return []
    return send_email(settings, record.recipients, record.subject, record.body)


def _claim(
    db: DatabaseHandle, now: datetime, settings: NotificationSettings
) -> sql.NotificationRecord | None:
    # Past any send's timeout (connect, write, read) with room to spare.
    claim_until = now + timedelta(seconds=4 * settings.timeout_s + 30)
    with _connection(db, write=True) as conn:
        return sql.claim_next_due(conn, format_utc(now), format_utc(claim_until))


def deliver_due(
    db: DatabaseHandle,
    settings: Settings | NotificationSettings,
    now: datetime | None = None,
    *,
    limit: int = 50,
) -> DeliveryReport:
    """Send up to ``limit`` due notices; what became of each. A send never raises: its
    failure is recorded on the row (and logged). A database without the outbox sends nothing."""
    notify = _notify_settings(settings)
    report = DeliveryReport()
    clock_given = now is not None
    while report.attempted < limit:
        moment = now if clock_given and now is not None else datetime.now(UTC)
        try:
            record = _claim(db, moment, notify)
        except StoreError as exc:
            if isinstance(exc.__cause__, StoreSchemaMissing):
                return report
            raise
        if record is None:
            return report
        attempts = record.attempts + 1
        try:
            refused = _send(record, notify)
        except (DeliveryError, ServiceError) as exc:
            _record_failure(db, record, attempts, str(exc), moment, notify, report)
            continue
        except Exception as exc:  # noqa: BLE001 - a notice must never take its sender down
            _record_failure(db, record, attempts, f"{type(exc).__name__}: {exc}", moment, notify, report)
            continue
        sent_at = format_utc(datetime.now(UTC))
        with _connection(db, write=True) as conn:
            sql.mark_sent(conn, record.id, attempts=attempts, sent_at=sent_at)
        report.sent.append(record.id)
        log_event(
            _log,
            "notification_sent",
            notification_id=record.id,
            channel=record.channel,
            template=record.template,
            attempts=attempts,
            refused=refused,
        )
    return report


def _record_failure(
    db: DatabaseHandle,
    record: sql.NotificationRecord,
    attempts: int,
    error: str,
    now: datetime,
    settings: NotificationSettings,
    report: DeliveryReport,
) -> None:
    error = error[:_ERROR_LIMIT]
    gave_up = attempts >= settings.max_attempts
    next_at = format_utc(now if gave_up else now + timedelta(seconds=retry_delay_s(attempts)))
    with _connection(db, write=True) as conn:
        sql.mark_failed(
            conn, record.id, attempts=attempts, error=error, next_attempt_at=next_at, gave_up=gave_up
        )
    fields: dict[str, Any] = {
        "notification_id": record.id,
        "channel": record.channel,
        "template": record.template,
        "attempts": attempts,
        "error": error,
    }
    if gave_up:
        report.gave_up.append(record.id)
        log_event(_log, "notification_gave_up", logging.ERROR, **fields)
    else:
        report.retrying.append(record.id)
        log_event(_log, "notification_failed", logging.WARNING, next_attempt_at=next_at, **fields)


def list_outbox(db: DatabaseHandle, *, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The outbox, newest first; ``state`` one of pending, sent, failed."""
    if state is not None and state not in sql.STATES:
        raise ServiceError(f"state must be one of {', '.join(sql.STATES)}, not {state!r}")
    if limit < 1:
        raise ServiceError(f"limit must be at least 1, not {limit}")
    with _connection(db, write=False) as conn:
        return [r.to_dict() for r in sql.listing(conn, state=state, limit=limit)]


def send_test(settings: Settings | NotificationSettings, channel: str | None = None) -> dict[str, str | None]:
    """Send the ``test`` notice now, past the outbox, on ``channel`` (else every configured
    one): each channel's error, or None when it went through. Not configured is a
    ``ServiceError`` saying which keys to set."""
    import socket

    notify = _notify_settings(settings)
    configured = {"webhook": notify.webhook_url is not None, "email": notify.email_configured}
    if channel is not None and channel not in configured:
        raise ServiceError(f"channel must be webhook or email, not {channel!r}")
    wanted = [channel] if channel else [c for c, on in configured.items() if on]
    advice = {
        "webhook": "set notifications.webhookUrl (or MEMORY_SYSTEM_NOTIFY_WEBHOOK_URL)",
        "email": (
            "set notifications.smtpHost, smtpFrom and oncallRecipients "
            "(or MEMORY_SYSTEM_NOTIFY_SMTP_HOST, ...)"
        ),
    }
    if not wanted:
        raise ServiceError(
            f"no notification channel is configured; {advice['webhook']}, or {advice['email']}"
        )
    message = render("test", {"host": socket.gethostname(), "sent_at": format_utc(datetime.now(UTC))})
    results: dict[str, str | None] = {}
    for name in wanted:
        if not configured[name]:
            raise ServiceError(f"the {name} channel is not configured; {advice[name]}")
        try:
            if name == "webhook":
                send_webhook(notify, message.slack_text)
            else:
                recipients = list(notify.oncall_recipients or notify.leadership_recipients)
                send_email(notify, recipients, message.subject, message.text)
            results[name] = None
        except DeliveryError as exc:
            results[name] = str(exc)
    return results
