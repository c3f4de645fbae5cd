"""Agent sessions: the unit of sticky flag rollout and of "active sessions" in flag stats.

A session belongs to the agent (and namespace) that opened it; to anyone else it does not
exist (the same "not found" as an unknown id, so ids cannot be probed). Last activity is
written at most once per ``touch_interval_s`` per session: one UPDATE a second is enough
for "active in the last N minutes" and keeps busy sessions off the writer lock.

Memories, injection and search take a session id as a free-text grouping too: an id that names
no session is the caller's own label, and ``check_usable`` lets it pass; one that names another
agent's session is refused with the same ``SessionNotFound``. Owners are cached (a session's
owner never changes), so the check is a dict lookup once a session has been seen.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from memory_system.core.clock import utc_now
from memory_system.core.errors import ServiceError, StoreError
from memory_system.core.logging import log_event
from memory_system.store import sessions as session_store
from memory_system.store.connection import Connection, Database
from memory_system.store.sessions import SessionRecord

__all__ = ["SessionNotFound", "SessionRecord", "SessionService"]

logger = logging.getLogger("memory_system.sessions")
_MAX_TRACKED = 10_000


class SessionNotFound(ServiceError, LookupError):
    """No such session for this agent."""


def _not_found(session_id: str, agent_id: str) -> SessionNotFound:
    return SessionNotFound(f"no session {session_id!r} for agent {agent_id!r}")


def _owned(conn: Connection, session_id: str, agent_id: str, namespace: str) -> SessionRecord:
    record = session_store.get(conn, session_id)
    if record is None or record.agent_id != agent_id or record.namespace != namespace:
        raise _not_found(session_id, agent_id)
    return record


class SessionService:
    def __init__(self, db: Database, *, touch_interval_s: float = 1.0) -> None:
        self._db = db
        self._touch_interval_s = touch_interval_s
        # Keyed by (session, agent): another agent naming the session cannot use up its slot.
        self._last_touch: dict[tuple[str, str], float] = {}
        # session id -> (agent, namespace): only registered sessions, which never change owner.
        self._owners: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def start(self, agent_id: str, namespace: str) -> SessionRecord:
        with self._db.write() as conn:
            record = session_store.insert(conn, str(uuid.uuid4()), agent_id, namespace)
        self._remember(record.id, agent_id, namespace)
        log_event(logger, "session_started", session_id=record.id, agent_id=agent_id, namespace=namespace)
        return record

    def get(self, session_id: str, agent_id: str, namespace: str) -> SessionRecord:
        return _owned(self._db.reader(), session_id, agent_id, namespace)

    def check_usable(self, session_id: str | None, agent_id: str, namespace: str) -> None:
        """Refuse (``SessionNotFound``) a session id that names another agent's session.

        None, and an id that names no session (a client's own grouping), pass. A cache hit
        is a dict lookup; a miss is one primary-key SELECT on the reader.
        """
        if not session_id:
            return
        owner = self._owners.get(session_id)
        if owner is None:
            record = session_store.get(self._db.reader(), session_id)
            if record is None:
                return  # not cached: the id may still be registered later (a hand-off, a start)
            owner = (record.agent_id, record.namespace)
            self._remember(session_id, *owner)
        if owner != (agent_id, namespace):
            raise _not_found(session_id, agent_id)

    def _remember(self, session_id: str, agent_id: str, namespace: str) -> None:
        with self._lock:
            if len(self._owners) >= _MAX_TRACKED:
                for key in list(self._owners)[: _MAX_TRACKED // 10]:  # the oldest tenth
                    del self._owners[key]
            self._owners[session_id] = (agent_id, namespace)

    def end(self, session_id: str, agent_id: str, namespace: str) -> SessionRecord:
        """End the session; ending one that already ended returns it unchanged."""
        with self._db.write() as conn:
            record = _owned(conn, session_id, agent_id, namespace)
            if record.ended_at is None:
                session_store.end(conn, session_id, utc_now())
                record = session_store.get(conn, session_id) or record
        with self._lock:
            self._last_touch.pop((session_id, agent_id), None)
        log_event(logger, "session_ended", session_id=session_id, agent_id=agent_id)
        return record

    def touch(self, session_id: str, agent_id: str, namespace: str) -> None:
        """Record activity; never fails the request that carries the session id."""
        now = time.monotonic()
        slot = (session_id, agent_id)
        with self._lock:
            last = self._last_touch.get(slot)
            if last is not None and now - last < self._touch_interval_s:
                return
            if len(self._last_touch) >= _MAX_TRACKED:
                oldest = sorted(self._last_touch.items(), key=lambda kv: kv[1])[: _MAX_TRACKED // 10]
                for key, _ in oldest:
                    del self._last_touch[key]
            self._last_touch[slot] = now
        try:
            with self._db.write() as conn:
                session_store.touch(conn, session_id, agent_id, namespace, utc_now())
        except StoreError as exc:
            log_event(logger, "session_touch_failed", logging.WARNING, session_id=session_id, error=str(exc))
