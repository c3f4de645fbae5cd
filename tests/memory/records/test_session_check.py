"""MemoryService with a session check: another agent's session is refused before any write."""

from __future__ import annotations

import pytest

from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.memory.records.models import MemoryFilter, MemoryValidationError
from memory_system.memory.sessions.registry import SessionNotFound, SessionService
from memory_system.store.connection import Database


@pytest.fixture
def sessions(db: Database) -> SessionService:
    return SessionService(db)


@pytest.fixture
def service(db: Database, events: MemoryEvents, sessions: SessionService) -> MemoryService:
    return MemoryService(db, events, session_check=sessions.check_usable)


def _rows(db: Database) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.reader().execute("SELECT * FROM memories ORDER BY id")]


@pytest.mark.parametrize(("agent", "namespace"), [("bob", "p1"), ("carol", "p2")])
def test_a_write_into_another_agents_session_writes_nothing(
    service: MemoryService, sessions: SessionService, db: Database, agent: str, namespace: str
) -> None:
    sid = sessions.start("alice", "p1").id
    service.create(namespace="p1", agent_id="alice", item={"content": "mine", "session_id": sid})
    before = _rows(db)
    written: list[list[int]] = []
    service.events.on_written(lambda ids: written.append(list(ids)))
    with pytest.raises(SessionNotFound):
        service.create(namespace=namespace, agent_id=agent, item={"content": "x", "session_id": sid})
    with pytest.raises(SessionNotFound):
        service.create_batch(
            namespace=namespace,
            agent_id=agent,
            items=[
                {"content": "fine"},
                {"content": "own", "session_id": "own"},
                {"content": "y", "session_id": sid},
            ],
        )
    with pytest.raises(SessionNotFound):
        service.list(
            namespace=namespace,
            agent_id=agent,
            sharing_enabled=True,
            tiers_enabled=True,
            filters=MemoryFilter(session_id=sid),
        )
    assert _rows(db) == before and written == []


def test_the_owner_and_a_clients_own_session_id_still_write(
    service: MemoryService, sessions: SessionService
) -> None:
    sid = sessions.start("alice", "p1").id
    mine = service.create_batch(
        namespace="p1", agent_id="alice", items=[{"content": "a", "session_id": sid}, {"content": "b"}]
    )
    assert [r.memory.session_id for r in mine] == [sid, None]
    own = service.create(namespace="p1", agent_id="bob", item={"content": "c", "session_id": "bob-run-7"})
    assert own.memory.session_id == "bob-run-7" and own.memory.tier == "working"
    page = service.list(
        namespace="p1",
        agent_id="alice",
        sharing_enabled=False,
        tiers_enabled=True,
        filters=MemoryFilter(session_id=sid),
    )
    assert [m.content for m in page.items] == ["a"]


def test_bad_input_is_answered_before_the_session(service: MemoryService, sessions: SessionService) -> None:
    sid = sessions.start("alice", "p1").id
    with pytest.raises(MemoryValidationError):
        service.create(namespace="p1", agent_id="bob", item={"content": "", "session_id": sid})
