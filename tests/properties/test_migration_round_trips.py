"""Migrations up, down to any target, and up again: the schema is a fresh head's, the graph untouched.

For any Phase 1 graph (entities, observations, relations in several namespaces, any
Unicode) and any Phase 2-4 rows beside it, a database at head is rolled back to a random
version that keeps the Phase 1 tables (4, 3, 2 or 1), each step separately (005 before
004, and so on), then migrated up to head again, possibly several times over. After each
round trip:

- the schema (every table, index, trigger and view with its SQL text, and the recorded
  migrations with their checksums) is identical to that of a database migrated fresh;
- every Phase 1 row is byte-identical to before the first rollback, at the bottom of each
  rollback too;
- the entity search index that 004 rebuilds from the graph holds the same rows as before.

Steps 005 and 004 go through the product's ``db rollback`` (``ops.db_rollback``, emergency
mode: no backup or approvers to arrange here), which must report the rollback verified;
003 and below, which the product refuses on purpose, through ``store.migrations``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory_system.memory.graph.entities import Entity, KnowledgeGraph, ObservationSet, Relation
from memory_system.memory.records.events import MemoryEvents
from memory_system.memory.records.memories import MemoryService
from memory_system.memory.typed.code_patterns import CodePatternStore
from memory_system.memory.typed.preferences import PreferenceStore
from memory_system.ops import schema
from memory_system.ops.db_rollback import execute_rollback, plan_rollback
from memory_system.store import migrations
from memory_system.store.connection import Database, open_connection
from memory_system.store.inventory import PHASE_1_TABLES
from tests.properties.strategies import fuzz, line_text

HEAD = migrations.expected_version()
NAMESPACES = ["default", "proj", "team/b"]

Dump = list[tuple[Any, ...]]


def schema_dump(path: Path) -> tuple[Dump, Dump]:
    conn = open_connection(path, create=False)
    try:
        objects = [
            tuple(r)
            for r in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        ]
        recorded = [tuple(r) for r in conn.execute("SELECT version, name, checksum FROM schema_migrations")]
        return objects, recorded
    finally:
        conn.close()


def phase_1_rows(path: Path) -> dict[str, Dump]:
    conn = open_connection(path, create=False)
    try:
        return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id")] for t in PHASE_1_TABLES}
    finally:
        conn.close()


def entity_index(path: Path) -> tuple[Dump, Dump]:
    """What 004's search index holds for the graph (rebuilt from the Phase 1 rows on the way up)."""
    conn = open_connection(path, create=False)
    try:
        return (
            [tuple(r) for r in conn.execute("SELECT rowid, * FROM entities_search_fts ORDER BY rowid")],
            [tuple(r) for r in conn.execute("SELECT rowid, * FROM observations_search_fts ORDER BY rowid")],
        )
    finally:
        conn.close()


@pytest.fixture(scope="module")
def fresh_head(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dump, Dump]:
    path = tmp_path_factory.mktemp("fresh") / "memory.db"
    schema.migrate(path)
    return schema_dump(path)


graphs = st.lists(
    st.tuples(
        st.sampled_from(NAMESPACES),
        line_text(24),  # name
        line_text(12),  # entity type
        st.lists(line_text(60), max_size=4),  # observations
    ),
    max_size=12,
)
relation_picks = st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11), line_text(12)), max_size=12)
extra_observations = st.lists(st.tuples(st.integers(0, 11), line_text(40)), max_size=6)
phase_2 = st.lists(line_text(60), max_size=4)  # memories, a preference and a code pattern each
targets = st.lists(st.integers(1, min(migrations.FEATURE_MIGRATIONS)), min_size=1, max_size=3)


def write_data(
    path: Path,
    entities: list[tuple[str, str, str, list[str]]],
    relations: list[tuple[int, int, str]],
    observations: list[tuple[int, str]],
    memories: list[str],
) -> None:
    db = Database(path)
    try:
        graph = KnowledgeGraph(db)
        for namespace, name, kind, obs in entities:
            graph.create_entities([Entity(name, kind, tuple(obs))], namespace)
        created = [(ns, name) for ns, name, _, _ in entities]
        for a, b, kind in relations:
            if a < len(created) and b < len(created) and created[a][0] == created[b][0]:
                namespace = created[a][0]
                graph.create_relations([Relation(created[a][1], created[b][1], kind)], namespace)
        for index, content in observations:
            if index < len(created):
                graph.add_observations([ObservationSet(created[index][1], (content,))], created[index][0])
        if entities:  # a deletion leaves gaps in the ids, as real graphs have
            graph.delete_entities([entities[-1][1]], entities[-1][0])
        service = MemoryService(db, MemoryEvents())
        for i, content in enumerate(memories):
            service.create(namespace="proj", agent_id="a1", item={"content": content})
            PreferenceStore(db).put("proj", "u1", f"k{i}", content, agent_id="a1")
            CodePatternStore(db).put(
                "proj", "a1", {"language": "python", "name": f"p{i}", "example": content}
            )
    finally:
        db.close()


def roll_back_to(path: Path, target: int) -> None:
    """One step at a time from the current version down to ``target``."""
    conn = open_connection(path, create=False)
    try:
        current = migrations.current_version(conn)
    finally:
        conn.close()
    for version in range(current, target, -1):
        if version in migrations.FEATURE_MIGRATIONS:  # as db rollback does it
            plan = plan_rollback(path, version, backup_path=None, approved_by=[], emergency=True)
            result = execute_rollback(plan)
            assert result.verified, result.problems()
        else:
            conn = open_connection(path, create=False)
            try:
                migrations.rollback(conn, version)
            finally:
                conn.close()
    conn = open_connection(path, create=False)
    try:
        assert migrations.current_version(conn) == target
    finally:
        conn.close()


@fuzz(40)
@given(
    entities=graphs,
    relations=relation_picks,
    observations=extra_observations,
    memories=phase_2,
    downs=targets,
)
def test_down_and_up_again_leaves_a_fresh_schema_and_the_graph_untouched(
    fresh_head: tuple[Dump, Dump],
    entities: list[tuple[str, str, str, list[str]]],
    relations: list[tuple[int, int, str]],
    observations: list[tuple[int, str]],
    memories: list[str],
    downs: list[int],
) -> None:
    with tempfile.TemporaryDirectory(prefix="round-trip-") as workdir:  # one per example
        path = Path(workdir) / "memory.db"
        schema.migrate(path)
        write_data(path, entities, relations, observations, memories)
        graph_before, index_before = phase_1_rows(path), entity_index(path)
        for target in downs:
            roll_back_to(path, target)
            assert phase_1_rows(path) == graph_before, f"Phase 1 rows changed by the rollback to {target}"
            applied = schema.migrate(path)
            assert [m.version for m in applied] == list(range(target + 1, HEAD + 1))
            assert schema_dump(path) == fresh_head, (
                f"schema after down to {target} and up is not a fresh head's"
            )
            assert phase_1_rows(path) == graph_before, (
                f"Phase 1 rows changed by the migration up from {target}"
            )
            assert entity_index(path) == index_before, f"entity search index differs after {target} and up"
