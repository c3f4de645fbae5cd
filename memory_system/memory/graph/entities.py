"""Phase 1 entity memory: the knowledge graph of the reference MCP "memory" server.

Semantics follow ``src/memory/index.ts`` of modelcontextprotocol/servers (read at commit
76d64c8, July 2026) so that agents written against it work unchanged:

- ``create_entities`` skips entities whose name exists; ``create_relations`` skips exact
  duplicates; ``add_observations`` adds only new contents and fails for an unknown entity;
- ``delete_*`` remove what matches and are silent about what does not; deleting an
  entity removes every relation from or to it;
- ``search_nodes`` matches a case-insensitive substring of names, types and observations;
  ``search_nodes`` and ``open_nodes`` return the entities found plus every relation with
  at least one endpoint among them (the reference changed from "both endpoints" to "at
  least one" in February 2026, so that a node's connections can be discovered).

One deliberate difference: relations point at entity rows, so a relation naming an entity
that does not exist is refused with an error naming it (the reference stores a dangling
relation). Within one request, repeated names are folded (first wins) where the reference
would store duplicates. Everything is per namespace: one project never sees another's graph.
Every write that changes the graph bumps the namespace's scope version in its own
transaction (``store/scope_versions.py``), as memory writes do: injection shows graph entities, and
its cache must not hide a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from memory_system.core.errors import ServiceError
from memory_system.core.validation import InvalidValue, check_text
from memory_system.store import entities as sql
from memory_system.store.connection import Connection, Database
from memory_system.store.scope_versions import bump_scope

DEFAULT_NAMESPACE = "default"
MAX_NAME_CHARS = 512
MAX_TYPE_CHARS = 256
MAX_OBSERVATION_CHARS = 16_384
MAX_NAMESPACE_CHARS = 128
MAX_QUERY_CHARS = 1_024
MAX_BATCH = 1_000
MAX_OBSERVATIONS_PER_ITEM = 1_000

_T = TypeVar("_T")


class GraphError(ServiceError, ValueError):
    """A graph call that cannot be done as asked; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidInput(GraphError):
    """A value is empty, too long or of the wrong shape."""


class EntityNotFound(GraphError):
    """A call refers to an entity that does not exist in the namespace."""

    def __init__(self, field: str, name: str, namespace: str) -> None:
        super().__init__(field, f"entity {name!r} does not exist in namespace {namespace!r}; create it first")
        self.name = name


@dataclass(frozen=True)
class Entity:
    name: str
    entity_type: str
    observations: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The reference server's JSON shape."""
        return {"name": self.name, "entityType": self.entity_type, "observations": list(self.observations)}


@dataclass(frozen=True)
class Relation:
    from_entity: str
    to_entity: str
    relation_type: str

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_entity, "to": self.to_entity, "relationType": self.relation_type}


@dataclass(frozen=True)
class ObservationSet:
    """Observations for one entity: to add (input), added (result) or to delete."""

    entity_name: str
    contents: tuple[str, ...]


@dataclass(frozen=True)
class Graph:
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": [e.to_dict() for e in self.entities],
            "relations": [r.to_dict() for r in self.relations],
        }


@dataclass
class ImportResult:
    """What one import did; ``missing_endpoints`` holds (relation index, missing name)."""

    entities_created: int = 0
    entities_merged: int = 0
    observations_added: int = 0
    relations_created: int = 0
    relations_existing: int = 0
    missing_endpoints: list[tuple[int, str]] = field(default_factory=list)


def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > limit:
        raise InvalidInput(field, f"is {len(value)} characters long; the limit is {limit}")
    _encodable(value, field)
    return value


def _encodable(value: str, field: str) -> None:
    """JSON can carry lone UTF-16 surrogates ("\\ud800") that no UTF-8 database can store."""
    try:
        check_text(value, field)
    except InvalidValue as exc:
        raise InvalidInput(exc.field, exc.message) from None


def _batch(items: Sequence[Any], field: str, limit: int | None = MAX_BATCH) -> None:
    """A list of at most ``limit`` items (``None``: any number, as an import takes)."""
    if isinstance(items, (str, bytes)):
        raise InvalidInput(field, "must be a list")
    if limit is not None and len(items) > limit:
        raise InvalidInput(field, f"has {len(items)} items; the limit is {limit} per call")


def check_namespace(namespace: str) -> str:
    return _text(namespace, "namespace", MAX_NAMESPACE_CHARS)


def _check_entities(entities: Sequence[Entity], field: str = "entities", *, capped: bool = True) -> None:
    _batch(entities, field, MAX_BATCH if capped else None)
    for i, e in enumerate(entities):
        _text(e.name, f"{field}[{i}].name", MAX_NAME_CHARS)
        _text(e.entity_type, f"{field}[{i}].entityType", MAX_TYPE_CHARS)
        _check_contents(e.observations, f"{field}[{i}].observations", capped=capped)


def _check_contents(contents: Sequence[str], field: str, *, capped: bool = True) -> None:
    _batch(contents, field, MAX_OBSERVATIONS_PER_ITEM if capped else None)
    for j, content in enumerate(contents):
        _text(content, f"{field}[{j}]", MAX_OBSERVATION_CHARS)


def _check_relations(relations: Sequence[Relation], field: str = "relations", *, capped: bool = True) -> None:
    _batch(relations, field, MAX_BATCH if capped else None)
    for i, r in enumerate(relations):
        _text(r.from_entity, f"{field}[{i}].from", MAX_NAME_CHARS)
        _text(r.to_entity, f"{field}[{i}].to", MAX_NAME_CHARS)
        _text(r.relation_type, f"{field}[{i}].relationType", MAX_TYPE_CHARS)


def _check_names(names: Sequence[str], field: str) -> None:
    _batch(names, field)
    for i, name in enumerate(names):
        _text(name, f"{field}[{i}]", MAX_NAME_CHARS)


def _entity(row: sql.EntityRow) -> Entity:
    return Entity(row.name, row.entity_type, row.observations)


def _relation(row: sql.RelationRow) -> Relation:
    return Relation(row.from_name, row.to_name, row.relation_type)


class KnowledgeGraph:
    """The entity graph of every namespace in one database.

    >>> graph = KnowledgeGraph(db)
    >>> graph.create_entities([Entity("Ada", "person", ("wrote the first program",))])
    >>> graph.search_nodes("program").to_dict()
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writes ---------------------------------------------------------------------------

    def create_entities(self, entities: Sequence[Entity], namespace: str = DEFAULT_NAMESPACE) -> list[Entity]:
        """The entities actually created; names that exist already are skipped."""
        check_namespace(namespace)
        _check_entities(entities)
        with self.db.write() as conn:
            return _changed(conn, namespace, self._create_entities(conn, namespace, entities))

    def create_relations(
        self, relations: Sequence[Relation], namespace: str = DEFAULT_NAMESPACE
    ) -> list[Relation]:
        """The relations actually created; exact duplicates are skipped.

        Raises ``EntityNotFound`` naming the first endpoint that does not exist; then
        nothing is created.
        """
        check_namespace(namespace)
        _check_relations(relations)
        with self.db.write() as conn:
            ids = sql.entity_ids(conn, namespace, _endpoints(relations))
            for i, r in enumerate(relations):
                for key, name in (("from", r.from_entity), ("to", r.to_entity)):
                    if name not in ids:
                        raise EntityNotFound(f"relations[{i}].{key}", name, namespace)
            return _changed(conn, namespace, self._create_relations(conn, namespace, relations, ids))

    def add_observations(
        self, additions: Sequence[ObservationSet], namespace: str = DEFAULT_NAMESPACE
    ) -> list[ObservationSet]:
        """Per entity, the contents actually added (those it did not have yet).

        An unknown entity fails the whole call: nothing is added to any entity.
        """
        check_namespace(namespace)
        _batch(additions, "observations")
        for i, a in enumerate(additions):
            _text(a.entity_name, f"observations[{i}].entityName", MAX_NAME_CHARS)
            _check_contents(a.contents, f"observations[{i}].contents")
        with self.db.write() as conn:
            ids = sql.entity_ids(conn, namespace, (a.entity_name for a in additions))
            for i, a in enumerate(additions):
                if a.entity_name not in ids:
                    raise EntityNotFound(f"observations[{i}].entityName", a.entity_name, namespace)
            added = [
                ObservationSet(
                    a.entity_name, tuple(sql.insert_observations(conn, ids[a.entity_name], a.contents))
                )
                for a in additions
            ]
            _changed(conn, namespace, any(a.contents for a in added))
            return added

    def delete_entities(self, names: Sequence[str], namespace: str = DEFAULT_NAMESPACE) -> int:
        """How many entities were deleted, with their observations and relations."""
        check_namespace(namespace)
        _check_names(names, "entityNames")
        with self.db.write() as conn:
            return _changed(conn, namespace, sql.delete_entities(conn, namespace, names))

    def delete_observations(
        self, deletions: Sequence[ObservationSet], namespace: str = DEFAULT_NAMESPACE
    ) -> int:
        """How many observations were deleted; unknown entities and contents are ignored."""
        check_namespace(namespace)
        _batch(deletions, "deletions")
        for i, d in enumerate(deletions):
            _text(d.entity_name, f"deletions[{i}].entityName", MAX_NAME_CHARS)
            _check_contents(d.contents, f"deletions[{i}].observations")
        with self.db.write() as conn:
            return _changed(
                conn,
                namespace,
                sum(sql.delete_observations(conn, namespace, d.entity_name, d.contents) for d in deletions),
            )

    def delete_relations(self, relations: Sequence[Relation], namespace: str = DEFAULT_NAMESPACE) -> int:
        """How many relations were deleted; relations that do not exist are ignored."""
        check_namespace(namespace)
        _check_relations(relations)
        with self.db.write() as conn:
            return _changed(
                conn,
                namespace,
                sum(
                    sql.delete_relation(conn, namespace, r.from_entity, r.to_entity, r.relation_type)
                    for r in relations
                ),
            )

    def import_graph(
        self, entities: Sequence[Entity], relations: Sequence[Relation], namespace: str = DEFAULT_NAMESPACE
    ) -> ImportResult:
        """Merge a whole graph in one transaction (the ``memory.jsonl`` import).

        New entities are created; an entity whose name exists keeps its type and gains the
        observations it lacks, so importing the same file twice changes nothing. A relation
        whose endpoint exists neither in the namespace nor in ``entities`` is skipped and
        reported, not fatal: the reference server's files can hold such dangling relations.
        Sizes are not capped per call here; each value is still checked.
        """
        check_namespace(namespace)
        _check_entities(entities, capped=False)
        _check_relations(relations, capped=False)
        result = ImportResult()
        with self.db.write() as conn:
            existing = sql.entity_ids(conn, namespace, (e.name for e in entities))
            seen: set[str] = set()
            for e in entities:
                if e.name in existing:
                    if e.name not in seen:
                        result.entities_merged += 1
                    result.observations_added += len(
                        sql.insert_observations(conn, existing[e.name], e.observations)
                    )
                else:
                    entity_id = sql.insert_entity(conn, namespace, e.name, e.entity_type)
                    assert entity_id is not None
                    existing[e.name] = entity_id
                    result.entities_created += 1
                    result.observations_added += len(sql.insert_observations(conn, entity_id, e.observations))
                seen.add(e.name)
            ids = {**existing, **sql.entity_ids(conn, namespace, _endpoints(relations))}
            for i, r in enumerate(relations):
                missing = next((n for n in (r.from_entity, r.to_entity) if n not in ids), None)
                if missing is not None:
                    result.missing_endpoints.append((i, missing))
                elif sql.insert_relation(
                    conn, namespace, ids[r.from_entity], ids[r.to_entity], r.relation_type
                ):
                    result.relations_created += 1
                else:
                    result.relations_existing += 1
            _changed(
                conn,
                namespace,
                result.entities_created or result.observations_added or result.relations_created,
            )
        return result

    # -- reads ----------------------------------------------------------------------------

    def read_graph(self, namespace: str = DEFAULT_NAMESPACE) -> Graph:
        check_namespace(namespace)
        conn = self.db.reader()
        return Graph(
            tuple(_entity(r) for r in sql.list_entities(conn, namespace)),
            tuple(_relation(r) for r in sql.list_relations(conn, namespace)),
        )

    def search_nodes(self, query: str, namespace: str = DEFAULT_NAMESPACE) -> Graph:
        """Entities whose name, type or an observation contains ``query`` (any case).

        An empty query matches everything, as in the reference server.
        """
        check_namespace(namespace)
        _query(query)
        conn = self.db.reader()
        return self._subgraph(conn, sql.search_entities(conn, namespace, query))

    def open_nodes(self, names: Sequence[str], namespace: str = DEFAULT_NAMESPACE) -> Graph:
        """The named entities that exist (unknown names are skipped) and their relations."""
        check_namespace(namespace)
        _check_names(names, "names")
        conn = self.db.reader()
        return self._subgraph(conn, sql.entities_by_name(conn, namespace, names))

    def get_entity(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> Graph:
        """One entity and its relations; ``EntityNotFound`` when it does not exist."""
        check_namespace(namespace)
        _text(name, "name", MAX_NAME_CHARS)
        found = self.open_nodes([name], namespace)
        if not found.entities:
            raise EntityNotFound("name", name, namespace)
        return found

    def list_entities(
        self,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        query: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[Entity], int | None]:
        """A page of entities in creation order, optionally only those ``query`` matches,
        and the offset of the next page (None on the last one)."""
        check_namespace(namespace)
        if limit < 1 or limit > MAX_BATCH:
            raise InvalidInput("limit", f"must be between 1 and {MAX_BATCH}")
        if offset < 0:
            raise InvalidInput("offset", "must not be negative")
        conn = self.db.reader()
        if query is None:
            rows = sql.list_entities(conn, namespace, limit=limit + 1, offset=offset)
        else:
            _query(query)
            rows = sql.search_entities(conn, namespace, query, limit=limit + 1, offset=offset)
        next_offset = offset + limit if len(rows) > limit else None
        return [_entity(r) for r in rows[:limit]], next_offset

    def counts(self, namespace: str = DEFAULT_NAMESPACE) -> dict[str, int]:
        check_namespace(namespace)
        return sql.counts(self.db.reader(), namespace)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _create_entities(conn: Connection, namespace: str, entities: Sequence[Entity]) -> list[Entity]:
        created: list[Entity] = []
        for e in entities:
            entity_id = sql.insert_entity(conn, namespace, e.name, e.entity_type)
            if entity_id is not None:
                added = sql.insert_observations(conn, entity_id, e.observations)
                created.append(Entity(e.name, e.entity_type, tuple(added)))
        return created

    @staticmethod
    def _create_relations(
        conn: Connection, namespace: str, relations: Sequence[Relation], ids: dict[str, int]
    ) -> list[Relation]:
        return [
            r
            for r in relations
            if sql.insert_relation(conn, namespace, ids[r.from_entity], ids[r.to_entity], r.relation_type)
        ]

    @staticmethod
    def _subgraph(conn: Connection, rows: list[sql.EntityRow]) -> Graph:
        relations = sql.relations_touching(conn, [r.id for r in rows])
        return Graph(tuple(_entity(r) for r in rows), tuple(_relation(r) for r in relations))


def _changed(conn: Connection, namespace: str, outcome: _T) -> _T:
    """Bump the namespace's scope version in the write's own transaction when the write
    changed something (a truthy outcome), so that no cached injection hides the change."""
    if outcome:
        bump_scope(conn, namespace)
    return outcome


def _endpoints(relations: Iterable[Relation]) -> list[str]:
    return [name for r in relations for name in (r.from_entity, r.to_entity)]


def _query(query: str) -> None:
    if not isinstance(query, str):
        raise InvalidInput("query", f"must be a string, got {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput("query", f"is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
    _encodable(query, "query")
