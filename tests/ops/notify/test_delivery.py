"""The service's worker sends what the outbox holds, on its own, through the open Database."""

from __future__ import annotations

import time

from memory_system.core.settings import NotificationSettings
from memory_system.ops.notify.delivery import DeliveryWorker
from memory_system.ops.notify.outbox import enqueue, list_outbox
from memory_system.store.connection import Database
from tests.ops.notify.conftest import Webhook
from tests.ops.notify.test_templates import START


def test_the_worker_delivers_queued_notices(db: Database, webhook: Webhook) -> None:
    settings = NotificationSettings(webhook_url=webhook.url, timeout_s=1.0)
    worker = DeliveryWorker(db, settings, interval_s=0.05)
    worker.start()
    try:
        (notice,) = enqueue(db, "incident_start", START, settings=settings)
        deadline = time.monotonic() + 10
        while not webhook.received:
            assert time.monotonic() < deadline, "the worker sent nothing"
            time.sleep(0.02)
    finally:
        worker.stop()
    assert "Incident #7" in webhook.received[0]["text"]
    assert list_outbox(db)[0]["state"] == "sent" and worker.failures == 0
    assert worker.reports[0].sent == [notice]
