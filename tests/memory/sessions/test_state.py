"""Session state: versioned JSON per session, only for the session's agent, stale writes refused."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from memory_system.memory.sessions.registry import SessionService
from memory_system.memory.sessions.state import (
    InvalidState,
    SessionEnded,
    SessionNotFound,
    SessionStateService,
    StaleVersion,
    VersionRequired,
)
from memory_system.store.connection import Database

NS = "proj"


@pytest.fixture
def states(db: Database) -> SessionStateService:
    return SessionStateService(db)


@pytest.fixture
def session_id(db: Database) -> str:
    return SessionService(db).start("alice", NS).id


def _row(db: Database, session_id: str) -> tuple[Any, ...] | None:
    row = (
        db.reader()
        .execute("SELECT state, version, updated_at FROM session_state WHERE session_id = ?", (session_id,))
        .fetchone()
    )
    return tuple(row) if row else None


def test_a_new_session_has_an_empty_document_at_version_zero(
    states: SessionStateService, session_id: str
) -> None:
    current = states.get(session_id, agent_id="alice", namespace=NS)
    assert (current.state, current.version) == ({}, 0)


def test_each_write_with_the_current_version_advances_it(
    states: SessionStateService, session_id: str
) -> None:
    first = states.put(session_id, agent_id="alice", namespace=NS, state={"step": 1}, version=0)
    second = states.put(
        session_id, agent_id="alice", namespace=NS, state={"step": 2, "todo": ["x"]}, version=first.version
    )
    assert (first.version, second.version) == (1, 2)
    read = states.get(session_id, agent_id="alice", namespace=NS)
    assert (read.state, read.version) == ({"step": 2, "todo": ["x"]}, 2)


def test_a_stale_write_is_refused_with_the_current_version_and_changes_nothing(
    db: Database, states: SessionStateService, session_id: str
) -> None:
    states.put(session_id, agent_id="alice", namespace=NS, state={"who": "first"}, version=0)
    states.put(session_id, agent_id="alice", namespace=NS, state={"who": "second"}, version=1)
    before = _row(db, session_id)
    with pytest.raises(StaleVersion) as caught:
        states.put(session_id, agent_id="alice", namespace=NS, state={"who": "late"}, version=1)
    assert caught.value.current_version == 2
    with pytest.raises(StaleVersion) as caught:
        states.put(session_id, agent_id="alice", namespace=NS, state={"who": "first again"}, version=0)
    assert caught.value.current_version == 2
    assert _row(db, session_id) == before


def test_of_two_writers_on_the_same_version_exactly_one_wins(
    states: SessionStateService, session_id: str
) -> None:
    states.put(session_id, agent_id="alice", namespace=NS, state={"n": 0}, version=0)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            states.put(session_id, agent_id="alice", namespace=NS, state={"n": n}, version=1)
            outcomes.append("won")
        except StaleVersion:
            outcomes.append("stale")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["stale"] * 7 + ["won"]
    assert states.get(session_id, agent_id="alice", namespace=NS).version == 2


def test_only_the_sessions_agent_reads_or_writes_it(
    db: Database, states: SessionStateService, session_id: str
) -> None:
    states.put(session_id, agent_id="alice", namespace=NS, state={"secret": 1}, version=0)
    before = _row(db, session_id)
    for agent, ns in (("bob", NS), ("alice", "other")):
        with pytest.raises(SessionNotFound):
            states.get(session_id, agent_id=agent, namespace=ns)
        with pytest.raises(SessionNotFound):
            states.put(session_id, agent_id=agent, namespace=ns, state={"secret": 2}, version=1)
    with pytest.raises(SessionNotFound, match="POST /v1/sessions"):
        states.get("no-such-session", agent_id="alice", namespace=NS)
    assert _row(db, session_id) == before


@pytest.mark.parametrize(
    ("state", "version", "error", "field"),
    [
        ({"a": 1}, None, VersionRequired, "version"),
        ({"a": 1}, -1, InvalidState, "version"),
        ({"a": 1}, "1", InvalidState, "version"),
        ({"a": 1}, True, InvalidState, "version"),
        ([1, 2], 0, InvalidState, "state"),
        ("text", 0, InvalidState, "state"),
        ({"a": float("nan")}, 0, InvalidState, "state.a"),  # the field inside the document
        ({"a": ["ok", "\ud800"]}, 0, InvalidState, "state.a[1]"),  # UTF-8 cannot hold it
        ({"a": 2**63}, 0, InvalidState, "state.a"),  # nor SQLite's JSON functions
        ({"a": 1}, 2**63, InvalidState, "version"),
        ({"big": "x" * (1024 * 1024)}, 0, InvalidState, "state"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    db: Database,
    states: SessionStateService,
    session_id: str,
    state: Any,
    version: Any,
    error: type[Exception],
    field: str,
) -> None:
    with pytest.raises(error) as caught:
        states.put(session_id, agent_id="alice", namespace=NS, state=state, version=version)
    assert caught.value.field == field
    assert _row(db, session_id) is None


def test_an_ended_sessions_state_stays_readable_but_frozen(
    db: Database, states: SessionStateService, session_id: str
) -> None:
    states.put(session_id, agent_id="alice", namespace=NS, state={"done": True}, version=0)
    SessionService(db).end(session_id, "alice", NS)
    assert states.get(session_id, agent_id="alice", namespace=NS).state == {"done": True}
    with pytest.raises(SessionEnded):
        states.put(session_id, agent_id="alice", namespace=NS, state={"done": False}, version=1)
