"""Runbook option A as one procedure: flags off, wait until the service says so, verify.

The flags are written through the admin API (``POST /admin/feature-flags``): the running
service applies its own write at once, and the write lands in the database layer, so every
other process of the service follows within a second ("off anywhere means off"). The
procedure then polls the service, not the database, until each flag is 0 in effect and no
active session has it: the time from the write's answer to that moment is "effective in".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from memory_system.client import MemoryConnectionError, MemoryTimeout
from memory_system.flags.names import FLAG_NAMES
from memory_system.ops import verify
from memory_system.ops.runbook.steps import Procedure, StepFailed
from memory_system.ops.verify import Check, Target

POLL_S = 0.02
WAIT_OFF_S = 30.0


@dataclass
class OptionAOutcome:
    procedure: Procedure
    flags: list[str]
    effective_in_s: float | None = None
    checks: list[Check] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.procedure.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.procedure.to_dict(),
            "flags": self.flags,
            "effective_in_s": self.effective_in_s,
            "ok": self.ok,
            "error": self.error,
            "checks": verify.as_dicts(self.checks),
        }


def rollback_a(
    target: Target,
    flags: Sequence[str] | None,
    procedure: Procedure,
    *,
    actor: str,
    wait_off_s: float = WAIT_OFF_S,
) -> OptionAOutcome:
    """Run the three steps; the first that fails stops it (``outcome.error`` says why)."""
    unknown = [f for f in flags or () if f not in FLAG_NAMES]
    if unknown:
        raise ValueError(f"unknown flag {unknown[0]!r}; known: {', '.join(FLAG_NAMES)}")
    chosen = list(flags or FLAG_NAMES)
    outcome = OptionAOutcome(procedure, chosen)
    try:
        _run(target, chosen, outcome, actor, wait_off_s)
    except (StepFailed, ConnectionError, MemoryConnectionError, MemoryTimeout) as exc:
        outcome.error = str(exc)
    return outcome


def _run(target: Target, chosen: list[str], outcome: OptionAOutcome, actor: str, wait_off_s: float) -> None:
    procedure = outcome.procedure
    assert target.url
    headers = {"X-Actor": actor}
    if target.admin_token:
        headers["Authorization"] = f"Bearer {target.admin_token}"
    with httpx.Client(base_url=target.url.rstrip("/"), headers=headers, timeout=10.0) as admin:
        with procedure.step("set flags off (admin API)") as note:
            written = _post(admin, {flag: False for flag in chosen})
            changed = [c["flag"] for c in written.get("changes", [])]
            note.detail = f"{', '.join(chosen)} -> false; database value changed for {len(changed)}"
        wrote = time.monotonic()
        with procedure.step("service reports them off") as note:
            seen = _wait_off(admin, chosen, time.monotonic() + wait_off_s)
            outcome.effective_in_s = round(time.monotonic() - wrote, 3)
            note.detail = f"effective in {outcome.effective_in_s} s: {seen}"
    with procedure.step("verify option A") as note:
        outcome.checks = verify.verify_option_a(target, chosen)
        failed = [c for c in outcome.checks if not c.ok]
        measured = [c for c in outcome.checks if c.state != "manual"]
        note.detail = f"{len(measured) - len(failed)}/{len(measured)} checks passed"
        if failed:
            raise StepFailed(f"{note.detail}; failed: {'; '.join(f'{c.name}: {c.detail}' for c in failed)}")


def _post(admin: httpx.Client, body: dict[str, bool]) -> dict[str, Any]:
    try:
        answer = admin.post("/admin/feature-flags", json=body)
    except httpx.TransportError as exc:
        raise StepFailed(f"cannot reach the service ({type(exc).__name__}); is it running? (--url)") from exc
    if answer.status_code in (401, 403):
        raise StepFailed(
            f"HTTP {answer.status_code}: set MEMORY_SYSTEM_ADMIN_TOKEN to the service's admin token"
        )
    if answer.is_error:
        raise StepFailed(f"POST /admin/feature-flags -> HTTP {answer.status_code}: {answer.text[:300]}")
    data: dict[str, Any] = answer.json()
    return data


def _wait_off(admin: httpx.Client, flags: list[str], deadline: float) -> str:
    """Poll until every flag is 0 in effect with no active session enabled; bounded."""
    last = "no answer yet"
    while True:
        try:
            snapshot = admin.get("/admin/feature-flags").json()
            stats = admin.get("/admin/feature-flags/stats").json()
        except (httpx.TransportError, ValueError) as exc:
            snapshot, stats, last = {}, {}, type(exc).__name__
        states = {
            flag: (
                snapshot.get("flags", {}).get(flag, {}).get("effective"),
                stats.get("flags", {}).get(flag, {}).get("enabled_sessions"),
            )
            for flag in flags
        }
        if snapshot and stats:
            last = ", ".join(f"{f} effective {e}, {n} sessions enabled" for f, (e, n) in states.items())
            if all(e == 0 and n == 0 for e, n in states.values()):
                return last
        if time.monotonic() >= deadline:
            raise StepFailed(f"the service still does not report the flags off (last: {last})")
        time.sleep(POLL_S)
