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

import httpx

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
    """Talks to one running service as an operator (admin token) and as an agent."""

    def __init__(
        self, url: str, *, admin_token: str | None, agent_token: str | None, timeout_s: float = 10.0
    ) -> None:
        self.url = url.rstrip("/")
        self._admin = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._agent = {"Authorization": f"Bearer {agent_token}"} if agent_token else {}
        self._client = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, headers: dict[str, str]) -> httpx.Response:
        return self._client.get(self.url + path, headers=headers)

    def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return self._client.post(self.url + path, json=body, headers=headers)

    def ready(self) -> Check:
        response = self._get("/health/ready", {})
        body = _json(response)
        detail = (
            f"HTTP {response.status_code}, version {body.get('version')}, schema "
            f"{body.get('schema_version')} ({body.get('schema')}), "
            f"expected {body.get('expected_schema_version')}"
        )
        return Check("service ready", response.status_code == 200, detail)

    def option_a(self, flags: Sequence[str]) -> list[Check]:
        checks = [self.ready()]
        snapshot = _json(self._get("/admin/feature-flags", self._admin))
        stats = _json(self._get("/admin/feature-flags/stats", self._admin))
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
        session = self._post("/v1/sessions", {}, self._agent)
        session_body = _json(session)
        evaluated = session_body.get("flags", {})
        for flag in flags:
            checks.append(
                Check(
                    f"{flag} is off for a new session",
                    evaluated.get(flag) is False,
                    f"POST /v1/sessions -> HTTP {session.status_code}, {flag} = {evaluated.get(flag)}",
                )
            )
        session_id = session_body.get("session_id")
        behaviours: dict[str, Callable[[str | None], Check]] = {
            USE_ENHANCED_INJECTION: self._legacy_injection,
            USE_CROSS_AGENT_SHARING: self._sharing_refused,
            USE_HIERARCHICAL_TIERS: self._flat_tiers,
        }
        checks.extend(behaviours[flag](session_id) for flag in flags)
        return checks

    def _in_session(self, session_id: str | None) -> dict[str, str]:
        """The agent's headers, inside the session when there is one."""
        return {**self._agent, "X-Session-Id": session_id} if session_id else self._agent

    def _legacy_injection(self, session_id: str | None) -> Check:
        response = self._post(
            "/v1/inject",
            {"query": "rollback verification", "session_id": session_id},
            self._in_session(session_id),
        )
        mode = _json(response).get("mode")
        return Check(
            "injection uses the legacy path",
            response.status_code == 200 and mode == "legacy",
            f"POST /v1/inject -> HTTP {response.status_code}, mode = {mode}",
        )

    def _sharing_refused(self, session_id: str | None) -> Check:
        response = self._post(
            f"/v1/memories/{PROBE_MEMORY_ID}/shares", {"namespace": True}, self._in_session(session_id)
        )
        error = _json(response).get("detail") or {}
        error = error.get("error") if isinstance(error, dict) else _json(response).get("error")
        return Check(
            "sharing calls are refused as disabled",
            response.status_code == 409 and error == "feature_disabled",
            f"POST /v1/memories/{{id}}/shares -> HTTP {response.status_code}, error = {error}",
        )

    def _flat_tiers(self, session_id: str | None) -> Check:
        response = self._get("/v1/memories?limit=1", self._in_session(session_id))
        tiers = _json(response).get("tiers")
        return Check(
            "memories are read as one flat tier",
            response.status_code == 200 and tiers == "flat",
            f"GET /v1/memories -> HTTP {response.status_code}, tiers = {tiers}",
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


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _effective(snapshot: dict[str, Any], flag: str) -> Any:
    entry = snapshot.get("flags", {}).get(flag, snapshot.get(flag))
    return entry.get("effective") if isinstance(entry, dict) else entry
