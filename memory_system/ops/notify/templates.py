"""The runbook's notices with real values filled in: incident start, rollback complete, the
database-rollback approval request, the leadership notice, and a test message.

``render(template, values)`` checks the values first: a missing one (or ``None``), an unknown
one (a typo would otherwise drop a line) or one of the wrong kind is a ``TemplateError``
naming it, so no notice ever says "None". A ``Message`` is a subject and plain text (email);
``slack_text`` is the same as Slack mrkdwn, for the webhook's ``{"text": ...}`` payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from memory_system.core.errors import ServiceError

__all__ = [
    "TEMPLATES",
    "Message",
    "TemplateError",
    "approval_request_values",
    "render",
]

OPTIONS = ("A", "B", "C")


class TemplateError(ServiceError, ValueError):
    """Values a notice template cannot be filled with."""


@dataclass(frozen=True)
class Message:
    template: str
    subject: str
    text: str
    # Who it is for: the team (webhook and on-call email) and/or the leadership email list.
    team: bool = True
    leadership: bool = False

    @property
    def slack_text(self) -> str:
        """Slack mrkdwn: the subject in bold, then the text; ``& < >`` escaped as Slack asks."""
        raw = f"*{self.subject}*\n{self.text}"
        return raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def slack_payload(self) -> dict[str, str]:
        return {"text": self.slack_text}


@dataclass(frozen=True)
class _Template:
    required: tuple[str, ...]
    build: Callable[[dict[str, Any]], Message]
    optional: Mapping[str, Any] = field(default_factory=dict)


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TemplateError(f"notice value {name!r} must be text, got {value!r}")
    text = str(value).strip()
    if not text:
        raise TemplateError(f"notice value {name!r} must not be empty")
    return text


def _number(values: Mapping[str, Any], name: str) -> float:
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise TemplateError(f"notice value {name!r} must be a number >= 0, got {value!r}")
    return float(value)


def _count(values: Mapping[str, Any], name: str) -> int:
    value = values[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TemplateError(f"notice value {name!r} must be a whole number >= 0, got {value!r}")
    return value


def _option(values: Mapping[str, Any]) -> str:
    option = _text(values, "option").upper()
    if option not in OPTIONS:
        raise TemplateError(f"notice value 'option' must be A, B or C, got {values['option']!r}")
    return option


def _names(values: Mapping[str, Any], name: str) -> str:
    """A list of names (flags, approvers) or one text; an empty list reads "none"."""
    value = values[name]
    if isinstance(value, list | tuple):
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise TemplateError(f"notice value {name!r} must be a list of names, got {value!r}")
        return ", ".join(value) if value else "none"
    return _text(values, name)


def _seconds(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _incident_start(v: dict[str, Any]) -> Message:
    option = _option(v)
    lines = [
        f"Severity: {_text(v, 'severity')}",
        f"Reason: {_text(v, 'reason')}",
        f"Flags: {_names(v, 'flags')}",
        f"Started: {_text(v, 'started_at')}",
        f"Incident #{_count(v, 'incident_id')}",
        f"Commander: {_text(v, 'commander')}",
        f"Next update in {_count(v, 'next_update_minutes')} min",
    ]
    return Message(
        "incident_start",
        f"INCIDENT: memory-system rollback started — Option {option}",
        "\n".join(lines),
        leadership=option == "C",
    )


def _rollback_complete(v: dict[str, Any]) -> Message:
    option = _option(v)
    passed, total = _count(v, "checks_passed"), _count(v, "checks_total")
    if passed > total:
        raise TemplateError(f"notice value 'checks_passed' ({passed}) exceeds 'checks_total' ({total})")
    verdict = f"{passed}/{total} checks passed" + (f" ({total - passed} FAILED)" if passed < total else "")
    lines = [
        f"Option: {option}",
        f"Duration: {_seconds(_number(v, 'duration_s'))}",
        f"Downtime: {_seconds(_number(v, 'downtime_s'))}",
        f"Sessions affected: {_count(v, 'sessions_affected')}",
        f"Data lost: {_text(v, 'data_lost')}",
        f"Backup: {_text(v, 'backup')}",
        f"Verification: {verdict}",
        f"Status page: {_text(v, 'status_page')}",
    ]
    if v.get("incident_id") is not None:
        lines.append(f"Incident #{_count(v, 'incident_id')}")
    head = "memory-system rollback complete" if passed == total else "memory-system rollback: checks FAILED"
    return Message(
        "rollback_complete", f"RESOLVED: {head} — Option {option}", "\n".join(lines), leadership=option == "C"
    )


def _approval_request(v: dict[str, Any]) -> Message:
    request_id = _count(v, "request_id")
    impact = v["impact"]
    if not isinstance(impact, Mapping) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in impact.values()
    ):
        raise TemplateError(
            f"notice value 'impact' must map each table to the rows it would lose, got {impact!r}"
        )
    rows = ", ".join(f"{table} {n}" for table, n in impact.items()) or "no rows"
    backup = _text(v, "backup")
    if v.get("backup_sha256") is not None:
        backup += f" (sha256 {_text(v, 'backup_sha256')})"
    lines = [
        f"Reason: {_text(v, 'reason')}",
        f"Impact (rows that would be lost): {rows}; {sum(impact.values())} in all",
        f"Backup: {backup}",
        f"Estimated downtime: {_seconds(_number(v, 'estimated_downtime_s'))}",
        f"Approvers needed: {_names(v, 'approvers_needed')} (two different people)",
    ]
    if v.get("requested_by") is not None:
        lines.append(f"Requested by: {_text(v, 'requested_by')}")
    if v.get("expires_at") is not None:
        lines.append(f"Expires: {_text(v, 'expires_at')}")
    lines.append(f"To approve: memory-system approve --request {request_id}")
    return Message(
        "approval_request",
        f"APPROVAL NEEDED: memory-system database rollback — request #{request_id}",
        "\n".join(lines),
    )


def _leadership_notice(v: dict[str, Any]) -> Message:
    option = _option(v)
    emergency = v["emergency"]
    if not isinstance(emergency, bool):
        raise TemplateError(f"notice value 'emergency' must be true or false, got {emergency!r}")
    lines = [
        f"Option: {option}",
        f"Reason: {_text(v, 'reason')}",
        f"Incident #{_count(v, 'incident_id')}",
        f"Commander: {_text(v, 'commander')}",
        f"Started: {_text(v, 'started_at')}",
    ]
    if emergency:
        if v.get("approved_by") is None:
            raise TemplateError("notice value 'approved_by' is needed for an emergency override")
        lines.append(f"EMERGENCY OVERRIDE: {_text(v, 'waived')} waived")
        lines.append(f"Named as approving: {_names(v, 'approved_by')}")
    what = "EMERGENCY OVERRIDE" if emergency else "database rollback"
    return Message(
        "leadership_notice",
        f"LEADERSHIP NOTICE: memory-system Option {option} {what}",
        "\n".join(lines),
        team=False,
        leadership=True,
    )


def _test(v: dict[str, Any]) -> Message:
    return Message(
        "test",
        "memory-system notification test",
        f"A test notice from memory-system on {_text(v, 'host')} at {_text(v, 'sent_at')}: "
        "this channel works.",
    )


TEMPLATES: dict[str, _Template] = {
    "incident_start": _Template(
        ("option", "severity", "reason", "flags", "started_at", "incident_id", "commander"),
        _incident_start,
        {"next_update_minutes": 30},
    ),
    "rollback_complete": _Template(
        (
            "option",
            "duration_s",
            "downtime_s",
            "sessions_affected",
            "data_lost",
            "backup",
            "checks_passed",
            "checks_total",
            "status_page",
        ),
        _rollback_complete,
        {"incident_id": None},
    ),
    "approval_request": _Template(
        ("request_id", "reason", "impact", "backup", "estimated_downtime_s"),
        _approval_request,
        {
            "backup_sha256": None,
            "approvers_needed": "manager + dba",
            "requested_by": None,
            "expires_at": None,
        },
    ),
    "leadership_notice": _Template(
        ("option", "reason", "incident_id", "commander", "started_at"),
        _leadership_notice,
        {"emergency": False, "approved_by": None, "waived": "approvals"},
    ),
    "test": _Template(("host", "sent_at"), _test),
}


def render(template: str, values: Mapping[str, Any]) -> Message:
    """``template`` filled with ``values``; ``TemplateError`` names a missing or unknown value."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise TemplateError(f"no notice template {template!r}; known: {', '.join(sorted(TEMPLATES))}")
    known = (*spec.required, *spec.optional)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TemplateError(
            f"notice template {template!r} has no value {unknown[0]!r}; it takes: {', '.join(known)}"
        )
    missing = [name for name in spec.required if values.get(name) is None]
    if missing:
        raise TemplateError(
            f"notice template {template!r} needs a value for {', '.join(repr(m) for m in missing)}"
        )
    filled = {**spec.optional, **{k: v for k, v in values.items() if v is not None}}
    return spec.build(filled)


def approval_request_values(request_id: int, details: Mapping[str, Any]) -> dict[str, Any]:
    """The ``approval_request`` values from an approval request's ``details`` (ops/approvals.py)."""
    backup = details.get("backup") or {}
    return {
        "request_id": request_id,
        "reason": details.get("reason"),
        "impact": dict((details.get("impact") or {}).get("rows_lost", {})),
        "backup": backup.get("path") or backup.get("note") or "none yet",
        "backup_sha256": backup.get("sha256") if backup.get("path") else None,
        "estimated_downtime_s": details.get("estimated_downtime_s"),
        "approvers_needed": " + ".join(details.get("approvals_needed") or ["manager", "dba"]),
        "requested_by": details.get("requested_by"),
        "expires_at": details.get("expires_at"),
    }
