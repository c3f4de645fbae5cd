"""Session hand-off: one agent passes a session's state and working memories to another.

Everything happens in one transaction: a new session for the receiving agent (same
namespace), a copy of the session state, the working memories moved to the new session,
the sending session ended, a ``session_handoffs`` row, and ``share_events`` 'handoff' rows
(one for the session, one per memory). Either all of it is visible or none of it.

Working memories are *moved* (owner and session change), not shared. They are the
session's scratch space: whoever carries the session on must be able to update,
reinforce and delete them, and tier maintenance must treat them by the new session's
life, not by the ended one's (which would promote or expire them under an agent that has
left). A move also keeps them visible to the receiver if sharing is later switched off,
because they are its own memories then. The sender stops seeing them, as with any private
memory of another agent; its short- and long-term memories are untouched (share those
explicitly). Where the receiver already holds the same content, its copy is reinforced and
the sender's dropped, as for any near-identical write in one scope.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memory_system.core.clock import utc_now
from memory_system.core.logging import log_event
from memory_system.memory.sessions.state import SessionEnded, check_session
from memory_system.memory.sharing.grants import InvalidShare, agent_id_of
from memory_system.store import memories as memory_store
from memory_system.store import session_state as store
from memory_system.store import sessions as session_store
from memory_system.store import sharing as share_store
from memory_system.store.connection import Database
from memory_system.store.scope_versions import bump_scope

if TYPE_CHECKING:
    from memory_system.memory.records.events import MemoryEvents

__all__ = ["HandoffResult", "HandoffService", "hand_off"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandoffResult:
    handoff_id: int
    session_id: str
    new_session_id: str
    from_agent_id: str
    to_agent_id: str
    memories_moved: int
    memories_merged: int
    state_version: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "handoff_id": self.handoff_id,
            "session_id": self.session_id,
            "new_session_id": self.new_session_id,
            "from_agent_id": self.from_agent_id,
            "to_agent_id": self.to_agent_id,
            "memories_moved": self.memories_moved,
            "memories_merged": self.memories_merged,
            "state_version": self.state_version,
        }


def _check_receiver(to_agent_id: object, sender: str) -> str:
    to_agent_id = agent_id_of(to_agent_id, "to_agent_id")
    if to_agent_id == sender:
        raise InvalidShare("to_agent_id", f"{to_agent_id!r} already holds this session; name another agent")
    return to_agent_id


def hand_off(
    db: Database,
    events: MemoryEvents | None,
    session_id: str,
    *,
    agent_id: str,
    namespace: str,
    to_agent_id: str,
) -> HandoffResult:
    """Hand the caller's open session over to ``to_agent_id``; returns the new session's id."""
    receiver = _check_receiver(to_agent_id, agent_id)
    now = utc_now()
    merged_ids: list[int] = []
    with db.write() as conn:
        session = check_session(conn, session_id, agent_id, namespace)
        if session.ended_at is not None:
            raise SessionEnded(
                "session_id",
                f"session {session_id!r} ended at {session.ended_at}; only an open session can be handed off",
            )
        new_session = session_store.insert(conn, str(uuid.uuid4()), receiver, namespace)
        state_version = store.copy_state(conn, session.id, new_session, now)
        moved = 0
        working = store.working_memories(conn, session)
        # The sender's hashes are unique in its scope, so one lookup before the moves suffices.
        held = memory_store.ids_by_hash(conn, namespace, receiver, [row[1] for row in working])
        for memory_id, content_hash, times, importance in working:
            existing = held.get(content_hash)
            if existing is None:
                store.move_memory(conn, memory_id, receiver, new_session.id, now)
                moved += 1
            else:
                store.merge_memory(conn, memory_id, existing, times + 1, importance, now)
                merged_ids.append(memory_id)
            share_store.insert_event(
                conn,
                namespace=namespace,
                action="handoff",
                actor=agent_id,
                memory_id=memory_id,
                grantee=receiver,
                session_id=session.id,
            )
        session_store.end(conn, session.id, now)
        handoff_id = store.insert_handoff(
            conn,
            namespace=namespace,
            session_id=session.id,
            from_agent=agent_id,
            to_agent=receiver,
            new_session_id=new_session.id,
            moved=moved,
            now=now,
        )
        share_store.insert_event(
            conn,
            namespace=namespace,
            action="handoff",
            actor=agent_id,
            grantee=receiver,
            session_id=session.id,
        )
        bump_scope(conn, namespace)
    if events is not None:
        events.deleted(merged_ids)
    log_event(
        _log,
        "session_handed_off",
        session_id=session.id,
        new_session_id=new_session.id,
        namespace=namespace,
        from_agent=agent_id,
        to_agent=receiver,
        memories_moved=moved,
        memories_merged=len(merged_ids),
    )
    return HandoffResult(
        handoff_id, session.id, new_session.id, agent_id, receiver, moved, len(merged_ids), state_version
    )


class HandoffService:
    """``runtime.handoff``: session hand-offs of one database (see ``hand_off``).

    Its own service, not a method of sharing: a hand-off needs sessions and sharing both, and
    neither of those needs it.
    """

    def __init__(self, db: Database, events: MemoryEvents | None = None) -> None:
        self.db = db
        self.events = events

    def handoff(self, session_id: str, *, agent_id: str, namespace: str, to_agent_id: str) -> HandoffResult:
        return hand_off(
            self.db, self.events, session_id, agent_id=agent_id, namespace=namespace, to_agent_id=to_agent_id
        )
