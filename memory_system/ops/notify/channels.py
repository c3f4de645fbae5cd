"""Sending one notice: a Slack-compatible webhook (httpx) or email through the SMTP relay
(stdlib ``smtplib``). Each send is bounded by ``timeoutS``; any failure is a ``DeliveryError``
whose text says what went wrong and never holds the webhook URL (a Slack URL is a secret).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import httpx

from memory_system.core.errors import ServiceError
from memory_system.core.settings import NotificationSettings

__all__ = ["CHANNELS", "DeliveryError", "send_email", "send_webhook"]

CHANNELS = ("webhook", "email")


class DeliveryError(ServiceError):
    """A notice that did not get through this time; the outbox retries it."""


def send_webhook(settings: NotificationSettings, text: str) -> None:
    """POST ``{"text": text}``; a 2xx answer is delivered, anything else a ``DeliveryError``."""
    if settings.webhook_url is None:
        raise DeliveryError("the webhook is not configured (notifications.webhookUrl)")
    try:
        response = httpx.post(
            settings.webhook_url,
            json={"text": text},
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=False,
        )
    except httpx.TimeoutException:
        raise DeliveryError(f"webhook did not answer within {settings.timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"webhook answered HTTP {response.status_code}: {response.text[:200]!r}")


def send_email(settings: NotificationSettings, recipients: list[str], subject: str, body: str) -> list[str]:
    """One plain-text message to ``recipients`` through the relay (STARTTLS and login when set).

    The addresses the relay refused while taking the rest (sending again would repeat the
    message to those it took); all refused is a ``DeliveryError``."""
    if settings.smtp_host is None or settings.smtp_from is None:
        raise DeliveryError("email is not configured (notifications.smtpHost and smtpFrom)")
    if not recipients:
        raise DeliveryError("the email has no recipients")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    relay = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username is not None and settings.smtp_password is not None:
                smtp.login(settings.smtp_username, settings.smtp_password)
            refused = smtp.send_message(message, to_addrs=recipients)
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"SMTP relay {relay} refused the email: {exc}") from None
    except TimeoutError:
        raise DeliveryError(f"SMTP relay {relay} did not answer within {settings.timeout_s:g} s") from None
    except OSError as exc:
        raise DeliveryError(f"SMTP relay {relay} unreachable: {exc.strerror or exc}") from None
    return sorted(refused)
