"""SQL of the Phase 1 knowledge graph: entities, their observations, relations between them.

Every function takes the connection it runs on, so that a caller can put several of them
in one transaction (``Database.write()``) or read on its own reader connection. Every
query is bound to one namespace; nothing here ever crosses namespaces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from memory_system.core.errors import StoreSchemaMissing
from memory_system.store.connection import Connection, Cursor

# Lists travel as one JSON array parameter read with json_each: no cap on host parameters,
# no chunking, and the planner still uses the indexes.
_EACH = "SELECT value FROM json_each(?)"


class EntityRow(NamedTuple):
    id: int
    name: str
    entity_type: str
    observations: tuple[str, ...]


class RelationRow(NamedTuple):
    from_name: str
    to_name: str
    relation_type: str


def _plain(conn: Connection) -> Cursor:
    """A cursor yielding plain tuples: whole-graph reads make tens of thousands of rows."""
    cur = conn.cursor()
    cur.row_factory = None
    return cur


def _json(items: Iterable[object]) -> str:
    return json.dumps(list(items), ensure_ascii=False)


def entity_ids(conn: Connection, namespace: str, names: Iterable[str]) -> dict[str, int]:
    """Ids of those of ``names`` that exist in ``namespace``."""
    rows = conn.execute(
        f"SELECT name, id FROM entities WHERE namespace = ? AND name IN ({_EACH})", (namespace, _json(names))
    )
    return {row[0]: row[1] for row in rows}


def insert_entity(conn: Connection, namespace: str, name: str, entity_type: str) -> int | None:
    """The new entity's id, or None when the name already exists in the namespace."""
    cur = conn.execute(
        "INSERT INTO entities (namespace, name, entity_type) VALUES (?, ?, ?)"
        " ON CONFLICT (namespace, name) DO NOTHING",
        (namespace, name, entity_type),
    )
    return int(cur.lastrowid) if cur.rowcount == 1 else None


def insert_observations(conn: Connection, entity_id: int, contents: Iterable[str]) -> list[str]:
    """Insert the contents the entity does not have yet; returns those, in order."""
    added: list[str] = []
    for content in contents:
        cur = conn.execute(
            "INSERT INTO observations (entity_id, content) VALUES (?, ?)"
            " ON CONFLICT (entity_id, content) DO NOTHING",
            (entity_id, content),
        )
        if cur.rowcount == 1:
            added.append(content)
    return added


def insert_relation(conn: Connection, namespace: str, from_id: int, to_id: int, relation_type: str) -> bool:
    """True when inserted, False when the same (from, to, type) already exists."""
    cur = conn.execute(
        "INSERT INTO relations (namespace, from_id, to_id, relation_type) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (from_id, to_id, relation_type) DO NOTHING",
        (namespace, from_id, to_id, relation_type),
    )
    return bool(cur.rowcount == 1)


def delete_entities(conn: Connection, namespace: str, names: Sequence[str]) -> int:
    """Delete by name; observations and relations from or to them go by ON DELETE CASCADE."""
    cur = conn.execute(
        f"DELETE FROM entities WHERE namespace = ? AND name IN ({_EACH})", (namespace, _json(names))
    )
    return int(cur.rowcount)


def delete_observations(conn: Connection, namespace: str, entity_name: str, contents: Sequence[str]) -> int:
    cur = conn.execute(
        "DELETE FROM observations WHERE entity_id ="
        " (SELECT id FROM entities WHERE namespace = ? AND name = ?)"
        f" AND content IN ({_EACH})",
        (namespace, entity_name, _json(contents)),
    )
    return int(cur.rowcount)


def delete_relation(
    conn: Connection, namespace: str, from_name: str, to_name: str, relation_type: str
) -> int:
    cur = conn.execute(
        "DELETE FROM relations WHERE namespace = ? AND relation_type = ?"
        " AND from_id = (SELECT id FROM entities WHERE namespace = ? AND name = ?)"
        " AND to_id = (SELECT id FROM entities WHERE namespace = ? AND name = ?)",
        (namespace, relation_type, namespace, from_name, namespace, to_name),
    )
    return int(cur.rowcount)


def _with_observations(conn: Connection, rows: list[tuple[int, str, str]]) -> list[EntityRow]:
    observations: dict[int, list[str]] = {row[0]: [] for row in rows}
    if rows:
        for entity_id, content in _plain(conn).execute(
            f"SELECT entity_id, content FROM observations WHERE entity_id IN ({_EACH}) ORDER BY id",
            (_json(observations),),
        ):
            observations[entity_id].append(content)
    return [EntityRow(row[0], row[1], row[2], tuple(observations[row[0]])) for row in rows]


def list_entities(
    conn: Connection, namespace: str, *, limit: int | None = None, offset: int = 0
) -> list[EntityRow]:
    """Entities in creation order, with their observations in creation order."""
    rows = (
        _plain(conn)
        .execute(
            "SELECT id, name, entity_type FROM entities WHERE namespace = ? ORDER BY id LIMIT ? OFFSET ?",
            (namespace, -1 if limit is None else limit, offset),
        )
        .fetchall()
    )
    return _with_observations(conn, rows)


def entities_by_name(conn: Connection, namespace: str, names: Sequence[str]) -> list[EntityRow]:
    """The named entities that exist, in creation order; unknown names are left out."""
    rows = conn.execute(
        f"SELECT id, name, entity_type FROM entities WHERE namespace = ? AND name IN ({_EACH}) ORDER BY id",
        (namespace, _json(names)),
    ).fetchall()
    return _with_observations(conn, [(r[0], r[1], r[2]) for r in rows])


def _casefold_contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle in haystack.lower()


# Characters whose case folding in SQLite's trigram tokenizer equals Python's str.lower(),
# one character for one, without context
# (Σ lowers to σ or ς by position; İ to two characters):  # noqa: RUF003 - Greek sigma, on purpose
# the same ranges as the GLOB in migration 004's entity_search_charset, which a test
# compares. A query made only of these can trust the trigram index; text holding any
# other character is marked odd there and always re-checked.
FOLD_SAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0x01, 0xB4),
    (0xB6, 0x12F),
    (0x131, 0x17E),
    (0x180, 0x344),
    (0x346, 0x37E),
    (0x380, 0x3A2),
    (0x3A4, 0x3C1),
    (0x3C3, 0x3CF),
    (0x3D2, 0x3D4),
    (0x3D7, 0x3EF),
    (0x3F2, 0x3F4),
    (0x3F6, 0x527),
    (0x530, 0x6FF),
    (0x900, 0xDFF),
    (0x1E00, 0x1E9A),
    (0x1E9C, 0x1FBD),
    (0x1FBF, 0x2BFF),
    (0x2E80, 0x9FFF),
    (0xAC00, 0xD7A3),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEF),
    (0x1F000, 0x1FAFF),
)
_FOLD_SAFE = re.compile(
    "[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in FOLD_SAFE_RANGES) + "]*"
)
_TRIGRAM = 3


def fold_safe_glob() -> str:
    """The GLOB that migration 004 stores: matches text holding a character outside the ranges."""
    return "*[^" + "".join(f"{chr(a)}-{chr(b)}" for a, b in FOLD_SAFE_RANGES) + "]*"


def _contains(column: str, ascii_query: bool) -> str:
    """SQL for "column contains the query, ignoring case" as Python's ``str.lower`` sees it.

    SQLite's ``lower()`` and ``LIKE`` fold ASCII only, so the exact comparison runs in a
    small Python function (``:q``, lower-cased): "ÄRGER" finds "ärger", as in the reference
    server. For an ASCII query, ``LIKE`` (``:like``, escaped) decides on its own for text that
    is all ASCII (same folding, no Python call per row); only text holding other characters
    (more bytes than characters) pays for the function.
    """
    if not ascii_query:
        return f"ms_icontains({column}, :q)"
    return (
        f"({column} LIKE :like ESCAPE '\\' OR (length({column}) <> length(CAST({column} AS BLOB))"
        f" AND ms_icontains({column}, :q)))"
    )


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(ascii_query: bool) -> str:
    return (
        f"({_contains('e.name', ascii_query)} OR {_contains('e.entity_type', ascii_query)}"
        " OR EXISTS (SELECT 1 FROM observations o WHERE o.entity_id = e.id"
        f" AND {_contains('o.content', ascii_query)}))"
    )


# Candidates from the trigram indexes (a superset of the matches: odd rows always come
# along), then the exact test above on those alone. CROSS JOIN keeps the planner from
# walking the whole namespace and probing the candidate list instead.
_CANDIDATES = (
    "WITH hits (id) AS MATERIALIZED ("
    " SELECT rowid FROM entities_search_fts WHERE entities_search_fts MATCH :entity_match"
    " UNION SELECT o.entity_id FROM observations_search_fts f JOIN observations o ON o.id = f.rowid"
    " WHERE observations_search_fts MATCH :observation_match)"
    " SELECT e.id, e.name, e.entity_type FROM hits h CROSS JOIN entities e ON e.id = h.id"
    " WHERE e.namespace = :ns AND "
)


def _has_search_index(conn: Connection) -> bool:
    """Migration 004 made the trigram indexes; in legacy mode (004 rolled back) there are none.
    Asked first, so that a legacy search is not counted as a database error."""
    found = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        " AND name IN ('entities_search_fts', 'observations_search_fts')"
    ).fetchone()
    return int(found[0]) == 2


def _indexable(query: str) -> bool:
    """Whether the trigram index can find every match: 3+ characters, all fold-safe."""
    return len(query) >= _TRIGRAM and _FOLD_SAFE.fullmatch(query) is not None


def search_entities(
    conn: Connection, namespace: str, query: str, *, limit: int | None = None, offset: int = 0
) -> list[EntityRow]:
    """Entities whose name, type or any observation contains ``query``, ignoring case."""
    conn.create_function("ms_icontains", 2, _casefold_contains, deterministic=True)
    ascii_query = query.isascii()
    params = {
        "ns": namespace,
        "q": query.lower(),
        "like": _like_pattern(query),
        "limit": -1 if limit is None else limit,
        "offset": offset,
    }
    select = "SELECT e.id, e.name, e.entity_type FROM entities e WHERE e.namespace = :ns AND "
    tail = " ORDER BY e.id LIMIT :limit OFFSET :offset"
    if _indexable(query) and _has_search_index(conn):
        phrase = '"' + query.replace('"', '""') + '"'
        params["entity_match"] = f'{{name entity_type}} : {phrase} OR odd : "odd"'
        params["observation_match"] = f'content : {phrase} OR odd : "odd"'
        try:
            rows = _plain(conn).execute(f"{_CANDIDATES}{_matches(ascii_query)}{tail}", params).fetchall()
            return _with_observations(conn, rows)
        except StoreSchemaMissing as exc:
            if "no such table" not in str(exc):
                raise
            # Migration 004 rolled back: the Phase 1 graph has no index; scan as before.
    rows = _plain(conn).execute(f"{select}{_matches(ascii_query)}{tail}", params).fetchall()
    return _with_observations(conn, rows)


_RELATION_SELECT = (
    "SELECT f.name, t.name, r.relation_type FROM relations r"
    " JOIN entities f ON f.id = r.from_id JOIN entities t ON t.id = r.to_id"
)


def list_relations(conn: Connection, namespace: str) -> list[RelationRow]:
    rows = _plain(conn).execute(f"{_RELATION_SELECT} WHERE r.namespace = ? ORDER BY r.id", (namespace,))
    return [RelationRow._make(r) for r in rows]


def relations_touching(conn: Connection, ids: Sequence[int]) -> list[RelationRow]:
    """Relations with at least one endpoint among the given entities, in creation order."""
    if not ids:
        return []
    ids_json = _json(ids)
    rows = _plain(conn).execute(
        f"{_RELATION_SELECT} WHERE r.id IN ("
        f" SELECT id FROM relations WHERE from_id IN ({_EACH})"
        f" UNION SELECT id FROM relations WHERE to_id IN ({_EACH})) ORDER BY r.id",
        (ids_json, ids_json),
    )
    return [RelationRow._make(r) for r in rows]


def counts(conn: Connection, namespace: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM entities WHERE namespace = :ns),"
        " (SELECT count(*) FROM observations o JOIN entities e ON e.id = o.entity_id"
        "  WHERE e.namespace = :ns),"
        " (SELECT count(*) FROM relations WHERE namespace = :ns)",
        {"ns": namespace},
    ).fetchone()
    return {"entities": int(row[0]), "observations": int(row[1]), "relations": int(row[2])}
