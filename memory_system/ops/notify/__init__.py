"""Notices from the runbook's templates, to a Slack-compatible webhook and email, through an
outbox that retries: a failing webhook or relay never blocks or slows a rollback.

    ids = enqueue(db, "incident_start", values, settings=settings, incident_id=7)
    with deliver_now(db, settings, budget_s=2.0):
        ...  # the rest of the command; at most 2 s more at the end

In the service, ``DeliveryWorker(db, settings)`` sends what is due every few seconds.
"""

from __future__ import annotations

from memory_system.ops.notify.channels import DeliveryError, send_email, send_webhook
from memory_system.ops.notify.delivery import BackgroundDelivery, DeliveryWorker, deliver_now
from memory_system.ops.notify.outbox import DeliveryReport, deliver_due, enqueue, list_outbox
from memory_system.ops.notify.templates import TEMPLATES, Message, TemplateError, render

__all__ = [
    "TEMPLATES",
    "BackgroundDelivery",
    "DeliveryError",
    "DeliveryReport",
    "DeliveryWorker",
    "Message",
    "TemplateError",
    "deliver_due",
    "deliver_now",
    "enqueue",
    "list_outbox",
    "render",
    "send_email",
    "send_webhook",
]
