"""Session hand-off: state copied, working memories moved, all in one transaction, audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.memory.records.models import MemoryNotFound
from memory_system.memory.sessions.registry import SessionService
from memory_system.memory.sessions.state import SessionEnded, SessionNotFound, SessionStateService
from memory_system.memory.sharing.grants import InvalidShare, SharingService
from memory_system.memory.sharing.handoff import HandoffService
from memory_system.store.connection import Database

NS = "proj"


@pytest.fixture
def memories(db: Database, events: MemoryEvents) -> MemoryService:
    return MemoryService(db, events)


@pytest.fixture
def sharing(db: Database, events: MemoryEvents) -> SharingService:
    return SharingService(db, events)


@pytest.fixture
def handoffs(db: Database, events: MemoryEvents) -> HandoffService:
    return HandoffService(db, events)


def _snapshot(db: Database) -> list[list[tuple[Any, ...]]]:
    conn = db.reader()
    return [
        [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
        for table in ("sessions", "session_state", "memories", "session_handoffs", "share_events")
    ]


def _visible(memories: MemoryService, agent: str, ids: Sequence[int]) -> list[int]:
    seen = []
    for mid in ids:
        try:
            memories.get(mid, namespace=NS, agent_id=agent, sharing_enabled=True)
            seen.append(mid)
        except MemoryNotFound:
            pass
    return seen


@pytest.fixture
def alice_session(db: Database, memories: MemoryService) -> dict[str, Any]:
    sid = SessionService(db).start("alice", NS).id
    SessionStateService(db).put(
        sid, agent_id="alice", namespace=NS, state={"plan": ["a", "b"], "step": 1}, version=0
    )
    working = [
        memories.create(
            namespace=NS, agent_id="alice", item={"content": text, "session_id": sid, "importance": 0.9}
        ).memory.id
        for text in ("the failing test is test_login", "the fix touches auth.py")
    ]
    kept = memories.create(
        namespace=NS, agent_id="alice", item={"content": "alice's own long-lived note"}
    ).memory.id
    return {"sid": sid, "working": working, "kept": kept}


def test_handoff_moves_state_and_working_memories_to_a_new_session_of_the_receiver(
    db: Database,
    memories: MemoryService,
    sharing: SharingService,
    handoffs: HandoffService,
    alice_session: dict[str, Any],
) -> None:
    sid, working, kept = alice_session["sid"], alice_session["working"], alice_session["kept"]
    result = handoffs.handoff(sid, agent_id="alice", namespace=NS, to_agent_id="bob")
    assert (result.memories_moved, result.memories_merged, result.state_version) == (2, 0, 1)

    new = SessionService(db).get(result.new_session_id, "bob", NS)
    assert new.ended_at is None and new.id != sid
    state = SessionStateService(db).get(new.id, agent_id="bob", namespace=NS)
    assert (state.state, state.version) == ({"plan": ["a", "b"], "step": 1}, 1)

    moved = [memories.get(m, namespace=NS, agent_id="bob", sharing_enabled=True) for m in working]
    assert {(m.agent_id, m.session_id, m.tier) for m in moved} == {("bob", new.id, "working")}
    assert _visible(memories, "alice", working) == []
    assert _visible(memories, "alice", [kept]) == [kept] and _visible(memories, "bob", [kept]) == []

    assert SessionService(db).get(sid, "alice", NS).ended_at is not None
    assert SessionStateService(db).get(sid, agent_id="alice", namespace=NS).state["step"] == 1
    conn = db.reader()
    assert [
        tuple(r)
        for r in conn.execute(
            "SELECT session_id, from_agent_id, to_agent_id, new_session_id, memories_moved "
            "FROM session_handoffs"
        )
    ] == [(sid, "alice", "bob", new.id, 2)]
    trail = sharing.list_events(agent_id="bob", namespace=NS)
    assert [(e.action, e.memory_id, e.session_id, e.agent_id, e.actor) for e in trail] == [
        ("handoff", None, sid, "bob", "alice"),
        ("handoff", working[1], sid, "bob", "alice"),
        ("handoff", working[0], sid, "bob", "alice"),
    ]


def test_content_the_receiver_already_has_reinforces_its_copy(
    db: Database,
    events: MemoryEvents,
    memories: MemoryService,
    handoffs: HandoffService,
    alice_session: dict[str, Any],
) -> None:
    bobs = memories.create(
        namespace=NS, agent_id="bob", item={"content": "The fix touches auth.py", "importance": 0.2}
    ).memory
    deleted: list[int] = []
    events.on_deleted(deleted.extend)
    result = handoffs.handoff(alice_session["sid"], agent_id="alice", namespace=NS, to_agent_id="bob")
    assert (result.memories_moved, result.memories_merged) == (1, 1)
    assert deleted == [alice_session["working"][1]]
    after = memories.get(bobs.id, namespace=NS, agent_id="bob", sharing_enabled=True)
    assert after.importance == 0.9
    assert db.reader().execute("SELECT COUNT(*) FROM memories WHERE id = ?", (deleted[0],)).fetchone()[0] == 0


def test_a_session_without_state_or_working_memories_hands_off_too(
    db: Database, handoffs: HandoffService
) -> None:
    sid = SessionService(db).start("alice", NS).id
    result = handoffs.handoff(sid, agent_id="alice", namespace=NS, to_agent_id="bob")
    assert (result.memories_moved, result.state_version) == (0, 0)
    assert SessionStateService(db).get(result.new_session_id, agent_id="bob", namespace=NS).version == 0


@pytest.mark.parametrize(
    ("caller", "namespace", "to_agent", "error"),
    [
        ("bob", NS, "carol", SessionNotFound),
        ("alice", "other", "bob", SessionNotFound),
        ("alice", NS, "alice", InvalidShare),
        ("alice", NS, "", InvalidShare),
        ("alice", NS, None, InvalidShare),
        ("alice", NS, "x" * 257, InvalidShare),
    ],
)
def test_refused_handoffs_change_nothing(
    db: Database,
    handoffs: HandoffService,
    alice_session: dict[str, Any],
    caller: str,
    namespace: str,
    to_agent: Any,
    error: type[Exception],
) -> None:
    before = _snapshot(db)
    with pytest.raises(error):
        handoffs.handoff(alice_session["sid"], agent_id=caller, namespace=namespace, to_agent_id=to_agent)
    assert _snapshot(db) == before


def test_an_ended_session_cannot_be_handed_off_again(
    db: Database, handoffs: HandoffService, alice_session: dict[str, Any]
) -> None:
    handoffs.handoff(alice_session["sid"], agent_id="alice", namespace=NS, to_agent_id="bob")
    before = _snapshot(db)
    with pytest.raises(SessionEnded, match="only an open session"):
        handoffs.handoff(alice_session["sid"], agent_id="alice", namespace=NS, to_agent_id="carol")
    assert _snapshot(db) == before


def test_a_failure_half_way_leaves_no_trace(
    db: Database, handoffs: HandoffService, alice_session: dict[str, Any]
) -> None:
    """The audit row is written last; when the database refuses it, nothing before it stays."""
    with db.write() as conn:
        conn.execute(
            "CREATE TRIGGER refuse_handoff BEFORE INSERT ON session_handoffs "
            "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    before = _snapshot(db)
    with pytest.raises(Exception, match="disk says no"):
        handoffs.handoff(alice_session["sid"], agent_id="alice", namespace=NS, to_agent_id="bob")
    assert _snapshot(db) == before
