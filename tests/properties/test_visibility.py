"""Visibility: for any agents, memories, shares, expiries and flag states, every read path
returns exactly what the sharing rules allow, never more.

The rules, as the product states them (``store/visibility.py``, ``memory/sharing/grants.py``),
written here in plain Python over the history of what was done rather than over the tables:

- an agent always sees its own memories of its namespace, until the memory expires;
- with sharing on (``USE_CROSS_AGENT_SHARING``), also a memory created namespace-visible and
  one with a live grant to it or to the whole namespace; a grant lives until its expiry or
  its revoke; a re-grant replaces the expiry; granting never takes visibility away;
- with sharing off, only its own; never anything of another namespace.

Each example writes memories into two namespaces as several agents, shares and revokes
through ``SharingService``, and moves some grants past their expiry (the grant is written
again with a past ``expires_at`` through the store: there is no clock to advance, and
``share`` itself refuses a past expiry). Then, for every agent and both flag states:
``list`` (paged), ``get`` of every id, full-text ``search`` and ``inject`` (enhanced and
legacy) return exactly the allowed set; ``get`` of anything else is "not found".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from memory_system.core.settings import Settings
from memory_system.memory.injection.injector import InjectionFlags
from memory_system.memory.records.models import MemoryNotFound
from memory_system.ops import schema
from memory_system.runtime import Runtime
from memory_system.store import sharing as share_store
from memory_system.store.connection import Database
from tests.properties.strategies import agent_ids, fuzz, line_text

AGENTS = ["a1", "a2", "coder", "planner.v2", "ops@team/x"]  # the pool agent_ids draws from
PAST = "2001-01-01T00:00:00.000Z"
FUTURE = "2999-01-01T00:00:00.000Z"
NOW_ISH = "2100-01-01T00:00:00.000Z"  # any time between: a live expiry
WORD = "zebra"  # in every memory, so that a search for it finds every visible one
_runs = itertools.count()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    root = tmp_path_factory.mktemp("visibility")
    schema.migrate(root / "memory.db")
    made = Runtime(Settings(db_path=root / "memory.db", config_path=root / "absent.json", embedder="none"))
    yield made
    made.close()


@dataclass
class Stored:
    """A memory and, per grantee (None: the whole namespace), the expiry of its live grant."""

    id: int
    namespace: str
    owner: str
    expires_at: str | None
    grants: dict[str | None, str | None] = field(default_factory=dict)

    def visible_to(self, agent: str, namespace: str, sharing: bool) -> bool:
        if self.namespace != namespace or (self.expires_at is not None and self.expires_at <= NOW_ISH):
            return False
        if agent == self.owner:
            return True
        if not sharing:
            return False
        return any(
            grantee in (agent, None) and (until is None or until > NOW_ISH)
            for grantee, until in self.grants.items()
        )


expiries = st.sampled_from([None, None, PAST, FUTURE])
memory = st.tuples(
    agent_ids, st.integers(0, 1), st.sampled_from(["private", "namespace"]), expiries, line_text(30)
)
memories = st.one_of(st.lists(memory, min_size=1, max_size=4), st.lists(memory, min_size=5, max_size=10))
# (memory index, grantee or None for the namespace, expiry: None, live, or moved into the past)
actions = st.lists(
    st.tuples(
        st.sampled_from(["share", "share", "revoke"]),
        st.integers(0, 9),
        st.one_of(st.none(), agent_ids),
        st.sampled_from([None, FUTURE, PAST]),
    ),
    max_size=16,
)


def _apply(
    runtime: Runtime, stored: list[Stored], todo: list[tuple[str, int, str | None, str | None]]
) -> None:
    db: Database = runtime.db
    for action, index, grantee, expiry in todo:
        if index >= len(stored) or grantee == stored[index].owner:
            continue
        memory = stored[index]
        grantees, whole = ([grantee], False) if grantee else ([], True)
        if action == "revoke":
            if grantee not in memory.grants:
                continue
            runtime.sharing.revoke(
                memory.id,
                agent_id=memory.owner,
                namespace=memory.namespace,
                grantees=grantees,
                whole_namespace=whole,
            )
            del memory.grants[grantee]
            continue
        runtime.sharing.share(
            memory.id,
            agent_id=memory.owner,
            namespace=memory.namespace,
            grantees=grantees,
            whole_namespace=whole,
            expires_at=None if expiry is None else FUTURE,
        )
        memory.grants[grantee] = None if expiry is None else FUTURE
        if expiry == PAST:  # time passes beyond the grant's end
            with db.write() as conn:
                share_store.upsert_grant(conn, memory.id, memory.namespace, grantee, memory.owner, PAST)
            memory.grants[grantee] = PAST


def _listed(runtime: Runtime, agent: str, namespace: str, sharing: bool) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(100):  # pages of 3: the cursor must not skip or repeat across the predicate
        page = runtime.memories.list(
            namespace=namespace,
            agent_id=agent,
            sharing_enabled=sharing,
            tiers_enabled=True,
            cursor=cursor,
            limit=3,
        )
        ids += [m.id for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("list never reached its last page")


@fuzz(200)
@given(written=memories, todo=actions)
# Found by this property: a grant to one agent took a namespace-visible memory away from the
# rest of the namespace (``SharingService.share`` switched it to grant rows only).
@example(written=[("a1", 0, "namespace", None, "x")], todo=[("share", 0, "coder", None)])
def test_every_read_path_returns_exactly_what_the_rules_allow(
    runtime: Runtime,
    written: list[tuple[str, int, str, str | None, str]],
    todo: list[tuple[str, int, str | None, str | None]],
) -> None:
    run = next(_runs)
    namespaces = [f"vis{run}", f"vis{run}-other"]
    stored: list[Stored] = []
    for owner, ns, visibility, expiry, text in written:
        result = runtime.memories.create(
            namespace=namespaces[ns],
            agent_id=owner,
            item={"content": f"{WORD} {len(stored)} {text}", "visibility": visibility, "expires_at": expiry},
        )
        memory = Stored(result.memory.id, namespaces[ns], owner, expiry)
        if visibility == "namespace":
            memory.grants[None] = None  # a namespace grant without a row
        stored.append(memory)
    _apply(runtime, stored, todo)

    every_id = [m.id for m in stored]
    for agent, namespace, sharing in itertools.product(AGENTS, namespaces, (False, True)):
        allowed = sorted(m.id for m in stored if m.visible_to(agent, namespace, sharing))
        where = f"{agent} in {namespace}, sharing {'on' if sharing else 'off'}"
        others = sum(1 for m in stored if m.id in allowed and m.owner != agent)
        event(f"allowed: {min(len(allowed), 3)}, of other agents: {min(others, 2)}")

        listed = _listed(runtime, agent, namespace, sharing)
        assert listed == sorted(listed, reverse=True) and sorted(listed) == allowed, ("list", where)

        for memory_id in every_id:
            try:
                runtime.memories.get(memory_id, namespace=namespace, agent_id=agent, sharing_enabled=sharing)
                got = True
            except MemoryNotFound:
                got = False
            assert got == (memory_id in allowed), ("get", memory_id, where)

        found = runtime.retrieval.search(
            agent_id=agent, namespace=namespace, query=WORD, k=50, sharing_enabled=sharing
        )
        assert sorted(hit.memory.id for hit in found.hits) == allowed, ("search", where)

        for enhanced in (True, False):
            injected = runtime.injector.inject(
                agent_id=agent,
                namespace=namespace,
                query=WORD,
                flags=InjectionFlags(enhanced=enhanced, tiers=False, sharing=sharing),
                token_budget=32000,
                format="json",
            )
            shown = sorted(m["id"] for m in injected.manifest["memories"])
            assert shown == allowed, ("inject", "enhanced" if enhanced else "legacy", where)
