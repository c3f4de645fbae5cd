"""Sharing service against a real database file: grants, revokes, expiry, the audit trail."""

from __future__ import annotations

import time
from typing import Any

import pytest

from memory_system.core.clock import utc_now
from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.memory.records.models import MemoryNotFound
from memory_system.memory.sharing.grants import (
    InvalidShare,
    MemoryNotOwned,
    ShareNotFound,
    SharingService,
    parse_expiry,
)
from memory_system.store.connection import Database
from memory_system.store.scope_versions import scope_version

NS = "proj"


@pytest.fixture
def memories(db: Database) -> MemoryService:
    return MemoryService(db, MemoryEvents())


@pytest.fixture
def sharing(db: Database) -> SharingService:
    return SharingService(db, MemoryEvents())


def _create(memories: MemoryService, agent: str, content: str, **fields: Any) -> int:
    return memories.create(namespace=NS, agent_id=agent, item={"content": content, **fields}).memory.id


def _sees(memories: MemoryService, agent: str, memory_id: int, *, sharing_enabled: bool = True) -> bool:
    try:
        memories.get(memory_id, namespace=NS, agent_id=agent, sharing_enabled=sharing_enabled)
    except MemoryNotFound:
        return False
    return True


def _soon(seconds: float) -> str:
    moment = time.time() + seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1000):03d}Z"


def _wait_past(moment: str) -> None:
    deadline = time.monotonic() + 10
    while utc_now() <= moment and time.monotonic() < deadline:
        time.sleep(0.1)


def _rows(db: Database, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.reader().execute(sql, params)]


def test_share_with_a_named_agent_makes_it_visible_to_that_agent_only(
    memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "the deploy key rotates on Fridays")
    assert not _sees(memories, "bob", mid)
    grants = sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    assert [(g.agent_id, g.active) for g in grants] == [("bob", True)]
    assert _sees(memories, "bob", mid)
    assert not _sees(memories, "carol", mid)
    assert memories.get(mid, namespace=NS, agent_id="alice", sharing_enabled=True).visibility == "shared"


def test_namespace_share_reaches_every_agent_of_the_namespace_and_no_other(
    memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "staging uses port 8443")
    sharing.share(mid, agent_id="alice", namespace=NS, whole_namespace=True)
    assert _sees(memories, "bob", mid) and _sees(memories, "carol", mid)
    try:
        memories.get(mid, namespace="other", agent_id="bob", sharing_enabled=True)
        seen_elsewhere = True
    except MemoryNotFound:
        seen_elsewhere = False
    assert not seen_elsewhere


def test_revoke_hides_it_again_and_leaves_other_grants(
    memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "prefer tabs in Makefiles")
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob", "carol"])
    left = sharing.revoke(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    assert [g.agent_id for g in left] == ["carol"]
    assert not _sees(memories, "bob", mid)
    assert _sees(memories, "carol", mid)
    sharing.revoke(mid, agent_id="alice", namespace=NS, grantees=["carol"])
    assert memories.get(mid, namespace=NS, agent_id="alice", sharing_enabled=True).visibility == "private"


def test_revoking_the_namespace_of_a_memory_created_namespace_visible(
    memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "the team standup is at 9", visibility="namespace")
    assert _sees(memories, "bob", mid)
    sharing.revoke(mid, agent_id="alice", namespace=NS, whole_namespace=True)
    assert not _sees(memories, "bob", mid)
    assert memories.get(mid, namespace=NS, agent_id="alice", sharing_enabled=True).visibility == "private"
    trail = sharing.list_events(agent_id="alice", namespace=NS, memory_id=mid)
    assert [(e.action, e.agent_id, e.actor) for e in trail] == [
        ("revoke", None, "alice"),
        ("grant", None, "alice"),
    ]


def test_namespace_visibility_set_by_any_write_path_is_in_the_trail(
    memories: MemoryService, sharing: SharingService
) -> None:
    batch = memories.create_batch(
        namespace=NS,
        agent_id="alice",
        items=[{"content": "batch item one", "visibility": "namespace"}, {"content": "batch item two"}],
    )
    one, two = (r.memory.id for r in batch)
    memories.update(two, {"visibility": "namespace"}, namespace=NS, agent_id="alice", sharing_enabled=True)
    memories.update(two, {"visibility": "private"}, namespace=NS, agent_id="alice", sharing_enabled=True)
    assert [e.action for e in sharing.list_events(agent_id="alice", namespace=NS, memory_id=one)] == ["grant"]
    assert [e.action for e in sharing.list_events(agent_id="alice", namespace=NS, memory_id=two)] == [
        "revoke",
        "grant",
    ]


def test_a_namespace_share_with_expiry_bounds_a_memory_created_namespace_visible(
    memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "visible to the team until the retro", visibility="namespace")
    sharing.share(mid, agent_id="alice", namespace=NS, whole_namespace=True, expires_at=_soon(1.0))
    assert _sees(memories, "bob", mid)
    _wait_past(sharing.list_shares(mid, agent_id="alice", namespace=NS)[0].expires_at)
    assert not _sees(memories, "bob", mid)
    trail = sharing.list_events(agent_id="alice", namespace=NS, memory_id=mid)
    assert [(e.action, e.expires_at is not None) for e in trail] == [
        ("grant", True),
        ("revoke", False),
        ("grant", False),
    ]


def test_an_expired_grant_stops_counting_and_is_listed_inactive(
    memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "cache TTL is 30 s")
    expires = _soon(1.2)
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"], expires_at=expires)
    assert _sees(memories, "bob", mid)
    _wait_past(expires)
    assert not _sees(memories, "bob", mid)
    [grant] = sharing.list_shares(mid, agent_id="alice", namespace=NS)
    assert grant.active is False and grant.expires_at == expires


def test_a_repeated_grant_updates_the_expiry_instead_of_adding_a_row(
    db: Database, memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "retry budget is 3")
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"], expires_at="2099-01-01T00:00:00Z")
    grants = sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    assert [(g.agent_id, g.expires_at) for g in grants] == [("bob", None)]
    assert _rows(db, "SELECT COUNT(*) FROM memory_shares WHERE memory_id = ?", mid) == [(1,)]
    sharing.share(mid, agent_id="alice", namespace=NS, whole_namespace=True)
    sharing.share(
        mid, agent_id="alice", namespace=NS, whole_namespace=True, expires_at="2099-01-01T00:00:00+02:00"
    )
    grants = sharing.list_shares(mid, agent_id="alice", namespace=NS)
    assert [(g.agent_id, g.expires_at) for g in grants] == [(None, "2098-12-31T22:00:00.000Z"), ("bob", None)]


def test_only_the_owner_can_share_revoke_or_list(
    db: Database, memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "the owner is alice")
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    before = _rows(db, "SELECT * FROM memory_shares") + _rows(db, "SELECT * FROM share_events")
    with pytest.raises(MemoryNotOwned, match="owned by agent 'bob'"):
        sharing.share(mid, agent_id="bob", namespace=NS, grantees=["carol"])
    with pytest.raises(MemoryNotOwned):
        sharing.revoke(mid, agent_id="bob", namespace=NS, grantees=["bob"])
    with pytest.raises(MemoryNotOwned):
        sharing.list_shares(mid, agent_id="bob", namespace=NS)
    with pytest.raises(MemoryNotOwned):
        sharing.share(mid, agent_id="alice", namespace="other", grantees=["carol"])
    with pytest.raises(MemoryNotOwned):
        sharing.share(999_999, agent_id="alice", namespace=NS, grantees=["carol"])
    assert _rows(db, "SELECT * FROM memory_shares") + _rows(db, "SELECT * FROM share_events") == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "agent_ids"),
        ({"grantees": "bob"}, "agent_ids"),
        ({"grantees": [""]}, "agent_ids[0]"),
        ({"grantees": ["bob", 7]}, "agent_ids[1]"),
        ({"grantees": ["alice"]}, "agent_ids[0]"),
        ({"grantees": ["x"] * 101}, "agent_ids"),
        ({"whole_namespace": "yes"}, "namespace"),
        ({"grantees": ["bob"], "expires_at": "tomorrow"}, "expires_at"),
        ({"grantees": ["bob"], "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
        ({"grantees": ["bob"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"grantees": ["bob"], "expires_at": 1234}, "expires_at"),
    ],
)
def test_bad_share_input_names_the_field_and_changes_nothing(
    db: Database, memories: MemoryService, sharing: SharingService, kwargs: dict[str, Any], field: str
) -> None:
    mid = _create(memories, "alice", "validation target")
    version = scope_version(db.reader(), NS)
    with pytest.raises(InvalidShare) as caught:
        sharing.share(mid, agent_id="alice", namespace=NS, **kwargs)
    assert caught.value.field == field
    assert _rows(db, "SELECT COUNT(*) FROM memory_shares") == [(0,)]
    assert _rows(db, "SELECT COUNT(*) FROM share_events") == [(0,)]
    assert scope_version(db.reader(), NS) == version


def test_revoking_a_grant_that_does_not_exist_is_refused_and_changes_nothing(
    db: Database, memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "two grants, one missing")
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    events = _rows(db, "SELECT COUNT(*) FROM share_events")
    with pytest.raises(ShareNotFound, match="not shared with agent 'carol'"):
        sharing.revoke(mid, agent_id="alice", namespace=NS, grantees=["bob", "carol"])
    assert [g.agent_id for g in sharing.list_shares(mid, agent_id="alice", namespace=NS)] == ["bob"]
    assert _rows(db, "SELECT COUNT(*) FROM share_events") == events
    with pytest.raises(ShareNotFound, match="the namespace"):
        sharing.revoke(mid, agent_id="alice", namespace=NS, whole_namespace=True)


def test_every_grant_and_revoke_is_in_the_audit_trail_and_outlives_the_memory(
    memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "audited memory")
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"], expires_at="2099-01-01T00:00:00Z")
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    sharing.share(mid, agent_id="alice", namespace=NS, whole_namespace=True)
    sharing.revoke(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    memories.delete(mid, namespace=NS, agent_id="alice", sharing_enabled=True)
    trail = [
        (e.action, e.agent_id, e.actor, e.expires_at)
        for e in sharing.list_events(agent_id="alice", namespace=NS, memory_id=mid)
    ]
    assert trail == [
        ("revoke", "bob", "alice", None),
        ("grant", None, "alice", None),
        ("grant", "bob", "alice", None),
        ("grant", "bob", "alice", "2099-01-01T00:00:00.000Z"),
    ]


def test_the_trail_shows_an_agent_only_events_it_took_part_in(
    memories: MemoryService, sharing: SharingService
) -> None:
    a = _create(memories, "alice", "for bob")
    c = _create(memories, "alice", "for carol")
    sharing.share(a, agent_id="alice", namespace=NS, grantees=["bob"])
    sharing.share(c, agent_id="alice", namespace=NS, grantees=["carol"])
    assert [e.memory_id for e in sharing.list_events(agent_id="bob", namespace=NS)] == [a]
    assert [e.memory_id for e in sharing.list_events(agent_id="carol", namespace=NS)] == [c]
    assert sharing.list_events(agent_id="bob", namespace="other") == []
    page = sharing.list_events(agent_id="alice", namespace=NS, limit=1)
    older = sharing.list_events(agent_id="alice", namespace=NS, before_id=page[0].id)
    assert [e.memory_id for e in page + older] == [c, a]
    with pytest.raises(InvalidShare, match="limit"):
        sharing.list_events(agent_id="alice", namespace=NS, limit=0)


def test_sharing_bumps_the_scope_version_so_cached_injections_see_it(
    db: Database, memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "scope version moves")
    before = scope_version(db.reader(), NS)
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    middle = scope_version(db.reader(), NS)
    sharing.revoke(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    assert before < middle < scope_version(db.reader(), NS)


def test_stored_grants_are_ignored_when_sharing_is_off_and_count_again_when_on(
    db: Database, memories: MemoryService, sharing: SharingService
) -> None:
    mid = _create(memories, "alice", "flag-off isolation")
    nsmid = _create(memories, "alice", "namespace-visible from creation", visibility="namespace")
    sharing.share(mid, agent_id="alice", namespace=NS, grantees=["bob"])
    assert not _sees(memories, "bob", mid, sharing_enabled=False)
    assert not _sees(memories, "bob", nsmid, sharing_enabled=False)
    assert _sees(memories, "alice", mid, sharing_enabled=False)
    assert _rows(db, "SELECT grantee_agent_id FROM memory_shares WHERE memory_id = ?", mid) == [("bob",)]
    assert _sees(memories, "bob", mid, sharing_enabled=True)


def test_parse_expiry_normalises_to_the_database_time_format() -> None:
    assert parse_expiry("2099-05-01T12:00:00+02:00") == "2099-05-01T10:00:00.000Z"
    assert parse_expiry("2099-05-01T10:00:00.123456z") == "2099-05-01T10:00:00.123Z"
    assert parse_expiry(None) is None


def test_visible_until_is_the_end_of_the_last_grant_that_shows_a_memory(
    memories: MemoryService, sharing: SharingService
) -> None:
    own = _create(memories, "bob", "bob's own")
    short = _create(memories, "alice", "shared until 2090")
    long = _create(memories, "alice", "shared until 2095 via the namespace, 2091 directly")
    forever = _create(memories, "alice", "shared with no end")
    sharing.share(short, agent_id="alice", namespace=NS, grantees=["bob"], expires_at="2090-01-01T00:00:00Z")
    sharing.share(long, agent_id="alice", namespace=NS, grantees=["bob"], expires_at="2091-01-01T00:00:00Z")
    sharing.share(
        long, agent_id="alice", namespace=NS, whole_namespace=True, expires_at="2095-01-01T00:00:00Z"
    )
    sharing.share(forever, agent_id="alice", namespace=NS, grantees=["bob"])
    sharing.share(
        forever, agent_id="alice", namespace=NS, whole_namespace=True, expires_at="2080-01-01T00:00:00Z"
    )
    until = sharing.visible_until
    assert until([own, forever], agent_id="bob", namespace=NS) is None
    assert until([own, long, forever], agent_id="bob", namespace=NS) == "2095-01-01T00:00:00.000Z"
    assert until([long, short], agent_id="bob", namespace=NS) == "2090-01-01T00:00:00.000Z"
    assert until([short], agent_id="carol", namespace=NS) is None
    assert until([long], agent_id="carol", namespace=NS) == "2095-01-01T00:00:00.000Z"
