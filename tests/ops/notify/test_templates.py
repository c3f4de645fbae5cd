"""The runbook's notices, filled in: every line has a real value, a missing one is an error."""

from __future__ import annotations

from typing import Any

import pytest

from memory_system.ops.notify.templates import TemplateError, approval_request_values, render

START: dict[str, Any] = {
    "option": "c",
    "severity": "SEV1",
    "reason": "injection p95 1.2 s after 0.3.0",
    "flags": ["USE_ENHANCED_INJECTION", "USE_CROSS_AGENT_SHARING"],
    "started_at": "2026-12-03T10:00:00.000Z",
    "incident_id": 7,
    "commander": "ann",
}
COMPLETE: dict[str, Any] = {
    "option": "A",
    "duration_s": 0.9,
    "downtime_s": 0,
    "sessions_affected": 14,
    "data_lost": "none",
    "backup": "none (option A changes no data)",
    "checks_passed": 9,
    "checks_total": 9,
    "status_page": "http://127.0.0.1:8080/status",
    "incident_id": 7,
}


def test_incident_start_fills_every_line_and_asks_for_leadership_on_option_c() -> None:
    message = render("incident_start", START)
    assert message.subject == "INCIDENT: memory-system rollback started — Option C"
    assert message.text.splitlines() == [
        "Severity: SEV1",
        "Reason: injection p95 1.2 s after 0.3.0",
        "Flags: USE_ENHANCED_INJECTION, USE_CROSS_AGENT_SHARING",
        "Started: 2026-12-03T10:00:00.000Z",
        "Incident #7",
        "Commander: ann",
        "Next update in 30 min",
    ]
    assert message.team and message.leadership
    assert not render("incident_start", {**START, "option": "A"}).leadership


def test_rollback_complete_reads_durations_and_the_verification_count() -> None:
    message = render("rollback_complete", {**COMPLETE, "duration_s": 185, "checks_passed": 8})
    assert "Duration: 3 min 5 s" in message.text
    assert "Downtime: 0.0 s" in message.text
    assert "Sessions affected: 14" in message.text
    assert "Verification: 8/9 checks passed (1 FAILED)" in message.text
    assert "Status page: http://127.0.0.1:8080/status" in message.text
    assert "checks FAILED" in message.subject
    assert "None" not in message.text
    assert not render("rollback_complete", {**COMPLETE, "incident_id": None}).text.endswith("#7")


def test_approval_request_names_impact_backup_approvers_and_the_command() -> None:
    details = {
        "reason": "004 corrupts memory_metadata",
        "impact": {"rows_lost": {"memories": 120, "user_preferences": 3}, "total_rows": 123},
        "backup": {"path": "/backups/memory-20261203.db", "sha256": "ab12cd34", "age_minutes": 2},
        "estimated_downtime_s": 12.5,
        "requested_by": "bob",
        "expires_at": "2026-12-03T14:00:00.000Z",
        "approvals_needed": ["manager", "dba"],
    }
    message = render("approval_request", approval_request_values(42, details))
    assert message.subject == "APPROVAL NEEDED: memory-system database rollback — request #42"
    assert "Impact (rows that would be lost): memories 120, user_preferences 3; 123 in all" in message.text
    assert "Backup: /backups/memory-20261203.db (sha256 ab12cd34)" in message.text
    assert "Estimated downtime: 12.5 s" in message.text
    assert "Approvers needed: manager + dba (two different people)" in message.text
    assert message.text.endswith("To approve: memory-system approve --request 42")
    no_backup = approval_request_values(43, {**details, "backup": {"note": "rollback c takes a fresh one"}})
    assert "sha256" not in render("approval_request", no_backup).text


def test_leadership_notice_goes_to_leadership_only_and_names_the_override() -> None:
    values = {k: START[k] for k in ("option", "reason", "incident_id", "commander", "started_at")}
    message = render("leadership_notice", {**values, "emergency": True, "approved_by": ["ann", "carl"]})
    assert (message.team, message.leadership) == (False, True)
    assert "EMERGENCY OVERRIDE: approvals waived" in message.text
    assert "Named as approving: ann, carl" in message.text
    with pytest.raises(TemplateError, match="approved_by"):
        render("leadership_notice", {**values, "emergency": True})


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({k: v for k, v in START.items() if k != "commander"}, "needs a value for 'commander'"),
        ({**START, "commander": None}, "needs a value for 'commander'"),
        ({**START, "comander": "x"}, "has no value 'comander'"),
        ({**START, "option": "D"}, "must be A, B or C"),
        ({**START, "incident_id": "seven"}, "'incident_id' must be a whole number"),
        ({**START, "reason": "  "}, "'reason' must not be empty"),
    ],
)
def test_a_missing_unknown_or_bad_value_is_an_error_naming_it(values: dict[str, Any], match: str) -> None:
    with pytest.raises(TemplateError, match=match):
        render("incident_start", values)


def test_slack_text_is_bold_subject_then_escaped_mrkdwn() -> None:
    message = render("incident_start", {**START, "reason": "p95 > 500 ms & rising <fast>"})
    assert message.slack_payload() == {"text": message.slack_text}
    assert message.slack_text.startswith("*INCIDENT: memory-system rollback started — Option C*\n")
    assert "Reason: p95 &gt; 500 ms &amp; rising &lt;fast&gt;" in message.slack_text


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(TemplateError, match="no notice template 'incident_begin'"):
        render("incident_begin", {})
