"""Request dependencies every router shares: the runtime, who is calling, admin access.

Agents authenticate with ``Authorization: Bearer <agent token>``; the token (looked up by
its sha256) fixes the agent id and the namespace, so a request cannot act as another agent:
an ``X-Agent-Id`` / ``X-Namespace`` header, or a top-level ``agent_id`` / ``namespace``
field of a JSON body, that disagrees with the token is refused with 403. In ``--dev`` mode
(loopback only) there are no tokens: the headers say who calls, defaulting to dev/default.

Phase 2-4 routers are included with ``require_phase_2`` (``api/app``): in legacy mode (schema
3, migration 004 rolled back) they answer 409 ``rolled_back`` with the command that restores
the tables, before any other check, instead of a 500 from a missing table.

Admin endpoints take ``Authorization: Bearer <admin token>`` (env
``MEMORY_SYSTEM_ADMIN_TOKEN`` or ``adminToken`` in the config file), compared in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import HTTPException, Request

from memory_system.runtime import Runtime

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Body fields that name the caller; anything else (grantees, hand-off targets) is not the caller.
_BODY_SELF_FIELDS = {"agent_id": "agent_id", "agentId": "agent_id", "namespace": "namespace"}


@dataclass(frozen=True)
class Identity:
    """Who a request acts as. Fixed by the agent token (or by dev headers in --dev mode)."""

    agent_id: str
    namespace: str


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


class RolledBack(Exception):
    """A Phase 2-4 route called while migration 004 is rolled back (``api/errors`` answers 409)."""

    def __init__(self, db_path: str, schema_version: int) -> None:
        from memory_system.ops.schema import LEGACY_MODE, restore_command, rolled_back_message

        self.schema_version = schema_version
        self.restore = restore_command(db_path)
        self.mode = LEGACY_MODE
        super().__init__(rolled_back_message(db_path))

    def to_dict(self) -> dict[str, object]:
        return {
            "error": "rolled_back",
            "message": str(self),
            "schema_version": self.schema_version,
            "mode": self.mode,
            "restore": self.restore,
        }


def require_phase_2(request: Request) -> None:
    """Refuse a Phase 2-4 route while migration 004 is rolled back (legacy mode)."""
    runtime = get_runtime(request)
    if runtime.phase_2_rolled_back():
        raise RolledBack(str(runtime.settings.db_path), runtime.schema_version())


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(401, "Authorization header must be 'Bearer <token>'", headers=_CHALLENGE)
    return token.strip()


async def agent_identity(request: Request) -> Identity:
    """The calling agent: from the bearer token, or in --dev mode from X-Agent-Id / X-Namespace."""
    runtime = get_runtime(request)
    if runtime.settings.dev:
        identity = Identity(
            agent_id=request.headers.get("x-agent-id") or "dev",
            namespace=request.headers.get("x-namespace") or "default",
        )
    else:
        token = bearer_token(request)
        if token is None:
            raise HTTPException(
                401,
                "agent token required: send 'Authorization: Bearer <token>'; an operator issues one "
                "with 'memory-system tokens create --agent A --namespace P'",
                headers=_CHALLENGE,
            )
        record = runtime.tokens.authenticate(token)
        if record is None:
            raise HTTPException(401, "unknown or revoked agent token", headers=_CHALLENGE)
        identity = Identity(agent_id=record.agent_id, namespace=record.namespace)
        for header, field in (("x-agent-id", "agent_id"), ("x-namespace", "namespace")):
            claimed = request.headers.get(header)
            if claimed is not None and claimed != getattr(identity, field):
                raise HTTPException(
                    403,
                    f"{header} {claimed!r} does not match the token's {field}; "
                    "a token acts only as its own agent and namespace",
                )
        await _check_body_claims(request, identity)
    _touch_session(request, runtime, identity)
    return identity


async def _check_body_claims(request: Request, identity: Identity) -> None:
    if request.method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        return
    # The middleware parsed and checked every JSON body (api/json_body); anything else is
    # left to the route's own validation, which answers 422 for a body that is not JSON.
    body = getattr(request.state, "json_body", None)
    if not isinstance(body, dict):
        return
    for key, field in _BODY_SELF_FIELDS.items():
        claimed = body.get(key)
        # Only a string names a caller: ``"namespace": true`` (share with the namespace) does not.
        if isinstance(claimed, str) and claimed != getattr(identity, field):
            raise HTTPException(
                403,
                f"body field {key}={claimed!r} does not match the caller's {field} "
                f"{getattr(identity, field)!r}; a request cannot act as another agent",
            )


def _touch_session(request: Request, runtime: Runtime, identity: Identity) -> None:
    """Last activity of the caller's session (path ``{session_id}`` or ``X-Session-Id``), throttled.

    A header naming another agent's session is refused here (404), on every route; a path id
    is left to its route, which answers it exactly as it answers an unknown id.
    """
    header = request.headers.get("x-session-id")
    runtime.sessions.check_usable(header, identity.agent_id, identity.namespace)
    session_id = request.path_params.get("session_id") or header
    if session_id:
        runtime.sessions.touch(str(session_id), identity.agent_id, identity.namespace)


def require_admin(request: Request) -> None:
    """Admin access: the configured admin token, compared in constant time."""
    expected = get_runtime(request).settings.admin_token
    if not expected:
        raise HTTPException(
            403,
            "admin API disabled: no admin token is configured. Set MEMORY_SYSTEM_ADMIN_TOKEN in the "
            'service\'s environment or "adminToken" in the config file (then restart, or SIGHUP for '
            "the file), and send 'Authorization: Bearer <admin token>'",
        )
    token = bearer_token(request)
    if token is None:
        raise HTTPException(
            401, "admin token required: send 'Authorization: Bearer <admin token>'", headers=_CHALLENGE
        )
    if not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")):
        raise HTTPException(401, "wrong admin token", headers=_CHALLENGE)
