"""Session state: a JSON document per session that only the session's agent reads and writes.

Optimistic concurrency instead of locks: a reader gets ``(state, version)``; a writer sends
the version it read and wins only if nobody wrote in between, else it gets the current
version back (``StaleVersion``) to re-read and retry. Agents hold no lock across their
thinking time, and two agents (or two workers of one agent) never overwrite each other
silently. A session with no state yet has ``{}`` at version 0.

Example::

    states = SessionStateService(db)
    current = states.get(sid, agent_id="coder", namespace="proj")
    states.put(sid, agent_id="coder", namespace="proj", state={"step": 2}, version=current.version)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.core.errors import ServiceError
from memory_system.core.logging import log_event
from memory_system.core.validation import INT64_MAX, InvalidValue, check_json_value
from memory_system.store import session_state as store
from memory_system.store import sessions as session_store
from memory_system.store.connection import Connection, Database
from memory_system.store.sessions import SessionRecord

__all__ = [
    "InvalidState",
    "SessionEnded",
    "SessionNotFound",
    "SessionState",
    "SessionStateError",
    "SessionStateService",
    "StaleVersion",
    "VersionRequired",
    "check_session",
]

MAX_STATE_BYTES = 1024 * 1024
_log = logging.getLogger(__name__)


class SessionStateError(ServiceError, ValueError):
    """A state call that cannot be done as asked; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidState(SessionStateError):
    """The document or the version is of the wrong shape or too big."""


class VersionRequired(SessionStateError):
    """A write without the version it is based on: it could silently overwrite another's."""


class SessionNotFound(SessionStateError):
    """No such session for this agent; another agent's session looks the same on purpose."""

    def __init__(self, session_id: str, agent_id: str) -> None:
        super().__init__(
            "session_id", f"no session {session_id!r} of agent {agent_id!r}; start one with POST /v1/sessions"
        )


class SessionEnded(SessionStateError):
    """The session has ended (or was handed off): its state is kept but frozen."""


class StaleVersion(SessionStateError):
    """Someone wrote since the caller read: ``current_version`` is what to re-read and retry."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            "version",
            f"is {expected} but the state is at version {current}; read it "
            "again (GET), merge, and write with the current version",
        )
        self.expected = expected
        self.current_version = current


@dataclass(frozen=True)
class SessionState:
    session_id: str
    state: Any
    version: int
    updated_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "state": self.state,
            "version": self.version,
            "updated_at": self.updated_at,
        }


def check_session(conn: Connection, session_id: object, agent_id: str, namespace: str) -> SessionRecord:
    """The session, if it is the caller's; otherwise ``SessionNotFound``."""
    row = session_store.get(conn, session_id) if isinstance(session_id, str) and session_id else None
    if row is None or row.agent_id != agent_id or row.namespace != namespace:
        raise SessionNotFound(str(session_id), agent_id)
    return row


def _encode(state: object) -> str:
    if not isinstance(state, dict):
        raise InvalidState("state", f"must be a JSON object, got {type(state).__name__}")
    try:
        check_json_value(state, "state")
    except InvalidValue as exc:
        raise InvalidState(exc.field, exc.message) from None
    try:
        text = json.dumps(state, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidState("state", f"is not plain JSON: {exc}") from None
    size = len(text.encode())
    if size > MAX_STATE_BYTES:
        raise InvalidState("state", f"is {size} bytes as JSON; the limit is {MAX_STATE_BYTES}")
    return text


def _check_version(version: object) -> int:
    if version is None:
        raise VersionRequired(
            "version",
            "is required: send the version you read (GET returns it; "
            "0 for a session without state) as 'version' or If-Match",
        )
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= INT64_MAX:
        raise InvalidState("version", f"must be a whole number from 0 to {INT64_MAX}, got {version!r}")
    return version


class SessionStateService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, session_id: str, *, agent_id: str, namespace: str) -> SessionState:
        conn = self.db.reader()
        check_session(conn, session_id, agent_id, namespace)
        row = store.read_state(conn, session_id)
        return SessionState(session_id, json.loads(row.state), row.version, row.updated_at)

    def put(
        self, session_id: str, *, agent_id: str, namespace: str, state: object, version: object
    ) -> SessionState:
        """Replace the document if ``version`` is current; returns the new version."""
        expected = _check_version(version)
        text = _encode(state)
        now = utc_now()
        with self.db.write() as conn:
            session = check_session(conn, session_id, agent_id, namespace)
            if session.ended_at is not None:
                raise SessionEnded(
                    "session_id",
                    f"session {session_id!r} ended at {session.ended_at}; "
                    "its state can be read but not changed",
                )
            new_version = store.write_state(conn, session, text, expected, now)
            if new_version is None:
                current = store.read_state(conn, session_id).version
                log_event(
                    _log, "session_state_conflict", session_id=session_id, expected=expected, current=current
                )
                raise StaleVersion(expected, current)
        return SessionState(session_id, json.loads(text), new_version, now)
