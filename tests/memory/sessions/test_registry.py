"""SessionService.check_usable: another agent's session is refused, a client's own id passes."""

from __future__ import annotations

import uuid

import pytest

from memory_system.memory.sessions import registry
from memory_system.memory.sessions.registry import SessionNotFound, SessionService
from memory_system.store import sessions as session_store
from memory_system.store.connection import Database


def test_the_owner_and_ids_that_name_no_session_pass(db: Database) -> None:
    sessions = SessionService(db)
    sid = sessions.start("alice", "p1").id
    sessions.check_usable(sid, "alice", "p1")
    sessions.check_usable(None, "bob", "p1")
    sessions.check_usable("", "bob", "p1")
    sessions.check_usable("my-own-grouping", "bob", "p1")


@pytest.mark.parametrize(("agent", "namespace"), [("bob", "p1"), ("alice", "p2"), ("carol", "p2")])
def test_another_agent_or_namespace_gets_the_not_found_of_an_unknown_session(
    db: Database, agent: str, namespace: str
) -> None:
    sessions = SessionService(db)
    sid = sessions.start("alice", "p1").id
    with pytest.raises(SessionNotFound) as refused:
        sessions.check_usable(sid, agent, namespace)
    with pytest.raises(SessionNotFound) as unknown:
        sessions.get("no-such-session", agent, namespace)
    assert str(refused.value) == str(unknown.value).replace("no-such-session", sid)


def test_a_session_registered_elsewhere_is_found_and_then_answered_from_the_cache(db: Database) -> None:
    sessions = SessionService(db)
    sid = str(uuid.uuid4())
    sessions.check_usable(sid, "bob", "p1")  # not registered yet: nothing is cached for it
    with db.write() as conn:
        session_store.insert(conn, sid, "alice", "p1")  # as a hand-off does, past the service
    with pytest.raises(SessionNotFound):
        sessions.check_usable(sid, "bob", "p1")
    assert sessions._owners[sid] == ("alice", "p1")


def test_the_owner_cache_is_bounded(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_MAX_TRACKED", 20)
    sessions = SessionService(db)
    ids = [sessions.start("alice", "p1").id for _ in range(25)]
    assert len(sessions._owners) <= 20
    with pytest.raises(SessionNotFound):
        sessions.check_usable(ids[0], "bob", "p1")  # evicted, read again from the database
