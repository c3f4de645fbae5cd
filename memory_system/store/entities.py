"""SQL of the Phase 1 knowledge graph: entities, their observations, relations between them.

Every function takes the connection it runs on, so that a caller can put several of them
in one transaction (``Database.write()``) or read on its own reader connection. Every
query is bound to one namespace; nothing here ever crosses namespaces.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from memory_system.store.connection import Connection

# SQLite caps host parameters at 32766; chunks keep big name lists well under it.
_CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class EntityRow:
    id: int
    name: str
    entity_type: str
    observations: tuple[str, ...]


@dataclass(frozen=True)
class RelationRow:
    from_name: str
    to_name: str
    relation_type: str


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def entity_ids(conn: Connection, namespace: str, names: Iterable[str]) -> dict[str, int]:
    """Ids of those of ``names`` that exist in ``namespace``."""
    unique = list(dict.fromkeys(names))
    found: dict[str, int] = {}
    for chunk in _chunks(unique):
        rows = conn.execute(
            f"SELECT name, id FROM entities WHERE namespace = ? AND name IN ({_marks(len(chunk))})",
            (namespace, *chunk),
        )
        found.update({row[0]: row[1] for row in rows})
    return found


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
    deleted = 0
    for chunk in _chunks(list(dict.fromkeys(names))):
        cur = conn.execute(
            f"DELETE FROM entities WHERE namespace = ? AND name IN ({_marks(len(chunk))})",
            (namespace, *chunk),
        )
        deleted += cur.rowcount
    return deleted


def delete_observations(conn: Connection, namespace: str, entity_name: str, contents: Sequence[str]) -> int:
    deleted = 0
    for chunk in _chunks(list(dict.fromkeys(contents))):
        cur = conn.execute(
            "DELETE FROM observations WHERE entity_id ="
            " (SELECT id FROM entities WHERE namespace = ? AND name = ?)"
            f" AND content IN ({_marks(len(chunk))})",
            (namespace, entity_name, *chunk),
        )
        deleted += cur.rowcount
    return deleted


def delete_relation(conn: Connection, namespace: str, from_name: str, to_name: str, relation_type: str) -> int:
    cur = conn.execute(
        "DELETE FROM relations WHERE namespace = ? AND relation_type = ?"
        " AND from_id = (SELECT id FROM entities WHERE namespace = ? AND name = ?)"
        " AND to_id = (SELECT id FROM entities WHERE namespace = ? AND name = ?)",
        (namespace, relation_type, namespace, from_name, namespace, to_name),
    )
    return int(cur.rowcount)


def _with_observations(conn: Connection, rows: list[tuple[int, str, str]]) -> list[EntityRow]:
    observations: dict[int, list[str]] = {row[0]: [] for row in rows}
    for chunk in _chunks([row[0] for row in rows]):
        for entity_id, content in conn.execute(
            f"SELECT entity_id, content FROM observations WHERE entity_id IN ({_marks(len(chunk))})"
            " ORDER BY id",
            tuple(chunk),
        ):
            observations[entity_id].append(content)
    return [EntityRow(row[0], row[1], row[2], tuple(observations[row[0]])) for row in rows]


def list_entities(
    conn: Connection, namespace: str, *, limit: int | None = None, offset: int = 0
) -> list[EntityRow]:
    """Entities in creation order, with their observations in creation order."""
    rows = conn.execute(
        "SELECT id, name, entity_type FROM entities WHERE namespace = ? ORDER BY id LIMIT ? OFFSET ?",
        (namespace, -1 if limit is None else limit, offset),
    ).fetchall()
    return _with_observations(conn, [(r[0], r[1], r[2]) for r in rows])


def entities_by_name(conn: Connection, namespace: str, names: Sequence[str]) -> list[EntityRow]:
    """The named entities that exist, in creation order; unknown names are left out."""
    rows: list[tuple[int, str, str]] = []
    for chunk in _chunks(list(dict.fromkeys(names))):
        rows.extend(
            (r[0], r[1], r[2])
            for r in conn.execute(
                "SELECT id, name, entity_type FROM entities"
                f" WHERE namespace = ? AND name IN ({_marks(len(chunk))})",
                (namespace, *chunk),
            )
        )
    rows.sort()
    return _with_observations(conn, rows)


def _casefold_contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle in haystack.lower()


def search_entities(
    conn: Connection, namespace: str, query: str, *, limit: int | None = None, offset: int = 0
) -> list[EntityRow]:
    """Entities whose name, type or any observation contains ``query``, ignoring case.

    SQLite's own ``lower()`` and ``LIKE`` fold ASCII only, so the comparison runs in a
    small Python function: "ÄRGER" finds "ärger" as the reference server does.
    """
    conn.create_function("ms_icontains", 2, _casefold_contains, deterministic=True)
    rows = conn.execute(
        "SELECT e.id, e.name, e.entity_type FROM entities e WHERE e.namespace = :ns AND ("
        " ms_icontains(e.name, :q) OR ms_icontains(e.entity_type, :q)"
        " OR EXISTS (SELECT 1 FROM observations o WHERE o.entity_id = e.id AND ms_icontains(o.content, :q)))"
        " ORDER BY e.id LIMIT :limit OFFSET :offset",
        {"ns": namespace, "q": query.lower(), "limit": -1 if limit is None else limit, "offset": offset},
    ).fetchall()
    return _with_observations(conn, [(r[0], r[1], r[2]) for r in rows])


_RELATION_SELECT = (
    "SELECT f.name, t.name, r.relation_type, r.id FROM relations r"
    " JOIN entities f ON f.id = r.from_id JOIN entities t ON t.id = r.to_id"
)


def list_relations(conn: Connection, namespace: str) -> list[RelationRow]:
    rows = conn.execute(f"{_RELATION_SELECT} WHERE r.namespace = ? ORDER BY r.id", (namespace,))
    return [RelationRow(r[0], r[1], r[2]) for r in rows]


def relations_touching(conn: Connection, ids: Sequence[int]) -> list[RelationRow]:
    """Relations with at least one endpoint among the given entities, in creation order."""
    found: dict[int, RelationRow] = {}
    for chunk in _chunks(list(dict.fromkeys(ids))):
        marks = _marks(len(chunk))
        for r in conn.execute(
            f"{_RELATION_SELECT} WHERE r.from_id IN ({marks}) OR r.to_id IN ({marks})", (*chunk, *chunk)
        ):
            found[r[3]] = RelationRow(r[0], r[1], r[2])
    return [found[k] for k in sorted(found)]


def counts(conn: Connection, namespace: str) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM entities WHERE namespace = :ns),"
        " (SELECT count(*) FROM observations o JOIN entities e ON e.id = o.entity_id"
        "  WHERE e.namespace = :ns),"
        " (SELECT count(*) FROM relations WHERE namespace = :ns)",
        {"ns": namespace},
    ).fetchone()
    return {"entities": int(row[0]), "observations": int(row[1]), "relations": int(row[2])}
