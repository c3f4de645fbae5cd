"""Runbook verification: after a rollback, prove against the live service that it took.

Option A (flags): each flag rolled back is 0 in effect, no active session has it, a new
session is evaluated with it off, and the phase behaves as "off" (legacy injection, sharing
refused with 409, flat tiers). Option B (code): the service is ready and reports its version
and schema state. Option C (database): the file passes integrity and foreign-key checks and the
schema is where the rollback left it, and the service (if a URL is given) is ready.

Each check is a line with ok/FAIL and what was seen, so an operator at night can act on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from memory_system.client import MemoryClient, MemoryServiceError, RetryPolicy
from memory_system.flags.names import (
    FLAG_NAMES,
    USE_CROSS_AGENT_SHARING,
    USE_ENHANCED_INJECTION,
    USE_HIERARCHICAL_TIERS,
)
from memory_system.ops import integrity, schema

PROBE_MEMORY_ID = 2**62  # a share attempt on an id that cannot exist: refused before any lookup


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


class Verifier:
    """Talks to one running service as an operator (admin token) and as an agent, through the client."""

    def __init__(
        self, url: str, *, admin_token: str | None, agent_token: str | None, timeout_s: float = 10.0
    ) -> None:
        self.url = url.rstrip("/")
        # One try: a verification reports what it sees now rather than waiting for the service.
        once = RetryPolicy(attempts=1)
        self._admin = MemoryClient(url, admin_token=admin_token, timeout_s=timeout_s, retry=once)
        self._agent = MemoryClient(url, token=agent_token, timeout_s=timeout_s, retry=once)
        self._token, self._timeout_s, self._once = agent_token, timeout_s, once
        self._sessions: list[MemoryClient] = []

    def close(self) -> None:
        for client in (self._admin, self._agent, *self._sessions):
            client.close()

    def _in_session(self, session_id: str | None) -> MemoryClient:
        """The agent, inside the session when there is one (its flags are the ones evaluated)."""
        if not session_id:
            return self._agent
        client = MemoryClient(
            self.url, token=self._token, session_id=session_id, timeout_s=self._timeout_s, retry=self._once
        )
        self._sessions.append(client)
        return client

    def ready(self) -> Check:
        body = self._admin.ready()  # a service that cannot be reached raises: nothing to check
        detail = (
            f"HTTP {200 if body.ready else 503}, version {body.version}, schema "
            f"{body.schema_version} ({body.schema_state}), expected {body.expected_schema_version}"
        )
        return Check("service ready", body.ready, detail)

    def option_a(self, flags: Sequence[str]) -> list[Check]:
        checks = [self.ready()]
        snapshot = _answer(self._admin.feature_flags)
        stats = _answer(self._admin.feature_flag_stats)
        for flag in flags:
            effective = _effective(snapshot, flag)
            checks.append(Check(f"{flag} effective value is 0", effective == 0, f"effective = {effective}"))
            enabled = stats.get("flags", {}).get(flag, {}).get("enabled_sessions")
            checks.append(
                Check(
                    f"{flag}: no active session has it",
                    enabled == 0,
                    f"active sessions with it enabled = {enabled}",
                )
            )
        session_id: str | None = None
        try:
            session = self._agent.start_session()
            session_id, evaluated, seen = session.session_id, dict(session.flags), "HTTP 201"
        except MemoryServiceError as error:
            evaluated, seen = {}, _seen(error)
        for flag in flags:
            checks.append(
                Check(
                    f"{flag} is off for a new session",
                    evaluated.get(flag) is False,
                    f"POST /v1/sessions -> {seen}, {flag} = {evaluated.get(flag)}",
                )
            )
        behaviours: dict[str, Callable[[str | None], Check]] = {
            USE_ENHANCED_INJECTION: self._legacy_injection,
            USE_CROSS_AGENT_SHARING: self._sharing_refused,
            USE_HIERARCHICAL_TIERS: self._flat_tiers,
        }
        checks.extend(behaviours[flag](session_id) for flag in flags)
        return checks

    def _legacy_injection(self, session_id: str | None) -> Check:
        try:
            mode, seen = (
                self._in_session(session_id).inject("rollback verification", session_id=session_id).mode,
                "HTTP 200",
            )
        except MemoryServiceError as error:
            mode, seen = None, _seen(error)
        return Check(
            "injection uses the legacy path",
            mode == "legacy",
            f"POST /v1/inject -> {seen}, mode = {mode}",
        )

    def _sharing_refused(self, session_id: str | None) -> Check:
        try:
            self._in_session(session_id).share(PROBE_MEMORY_ID, namespace=True)
            status, error = 200, None
        except MemoryServiceError as refused:
            status, error = refused.status, refused.code
        return Check(
            "sharing calls are refused as disabled",
            status == 409 and error == "feature_disabled",
            f"POST /v1/memories/{{id}}/shares -> HTTP {status}, error = {error}",
        )

    def _flat_tiers(self, session_id: str | None) -> Check:
        try:
            tiers, seen = self._in_session(session_id).list_memories(limit=1).tiers, "HTTP 200"
        except MemoryServiceError as error:
            tiers, seen = None, _seen(error)
        return Check(
            "memories are read as one flat tier",
            tiers == "flat",
            f"GET /v1/memories -> {seen}, tiers = {tiers}",
        )


def verify_option_a(
    url: str, flags: Sequence[str] | None, *, admin_token: str | None, agent_token: str | None
) -> list[Check]:
    unknown = [f for f in flags or () if f not in FLAG_NAMES]
    if unknown:
        raise ValueError(f"unknown flag {unknown[0]!r}; known: {', '.join(FLAG_NAMES)}")
    verifier = Verifier(url, admin_token=admin_token, agent_token=agent_token)
    try:
        return verifier.option_a(list(flags or FLAG_NAMES))
    finally:
        verifier.close()


def verify_option_b(url: str) -> list[Check]:
    verifier = Verifier(url, admin_token=None, agent_token=None)
    try:
        check = verifier.ready()
    finally:
        verifier.close()
    return [check]


def verify_option_c(db_path: Path, url: str | None, *, expect_version: int | None) -> list[Check]:
    report = integrity.check(db_path)
    checks = [Check("integrity and foreign keys", report.ok, "; ".join(report.problems()) or "ok")]
    status = schema.status(db_path)
    if expect_version is not None:
        checks.append(
            Check(
                f"schema version is {expect_version}",
                status.current_version == expect_version,
                f"schema version {status.current_version}",
            )
        )
    if url:
        verifier = Verifier(url, admin_token=None, agent_token=None)
        try:
            checks.append(verifier.ready())
        finally:
            verifier.close()
    return checks


def as_dicts(checks: list[Check]) -> list[dict[str, Any]]:
    return [asdict(c) for c in checks]


def _answer(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except MemoryServiceError:
        return {}


def _seen(error: MemoryServiceError) -> str:
    return f"HTTP {error.status} {error.code}"


def _effective(snapshot: dict[str, Any], flag: str) -> Any:
    entry = snapshot.get("flags", {}).get(flag, snapshot.get(flag))
    return entry.get("effective") if isinstance(entry, dict) else entry
