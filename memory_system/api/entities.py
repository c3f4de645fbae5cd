"""HTTP routes of Phase 1 entity memory: ``/v1/entities``, ``/v1/relations``, ``/v1/observations``,
``/v1/graph``.

Bodies use the reference MCP memory server's field names (``entityType``, ``relationType``,
``from``/``to``, ``entityName``), so a tool call's arguments can be posted as they are. The
namespace is the caller's (its token, or ``X-Namespace`` in --dev mode), never a body field.
Errors are JSON 4xx bodies naming the field: ``{"detail": {"error", "field", "message"}}``
from the service (``api/errors``: 422, and 404 for the entity a URL names),
FastAPI's ``{"detail": [{"loc", "msg"}]}`` from request validation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import Field, StringConstraints

from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.api.error_body import responses
from memory_system.api.errors import to_http
from memory_system.api.fields import NOT_BLANK, Body
from memory_system.api.responses import answers
from memory_system.api.responses.graph import (
    AddedObservations,
    DeletedCount,
    EntityDetail,
    EntityList,
    EntityPage,
    Graph,
    RelationList,
)
from memory_system.core.validation import INT64_MAX
from memory_system.memory.graph.entities import (
    MAX_BATCH,
    MAX_NAME_CHARS,
    MAX_OBSERVATION_CHARS,
    MAX_OBSERVATIONS_PER_ITEM,
    MAX_QUERY_CHARS,
    MAX_TYPE_CHARS,
    Entity,
    EntityNotFound,
    ObservationSet,
    Relation,
)
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/v1", tags=["entity memory (Phase 1)"], responses=responses(401, 403, 404, 500, 503)
)
WITH_BODY = responses(400, 413, 422)

# Not empty: at least one character that is not whitespace (memory/graph/entities._text).
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS, pattern=NOT_BLANK)]
TypeName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TYPE_CHARS, pattern=NOT_BLANK)]
Content = Annotated[str, StringConstraints(min_length=1, max_length=MAX_OBSERVATION_CHARS, pattern=NOT_BLANK)]
Contents = Annotated[list[Content], Field(max_length=MAX_OBSERVATIONS_PER_ITEM)]
NamePath = Annotated[str, Path(min_length=1, max_length=MAX_NAME_CHARS, pattern=NOT_BLANK)]


class _Body(Body):
    """A misspelt field (``entity_type``) or a ``namespace`` in the body is an error, not ignored."""


class EntityIn(_Body):
    name: Name
    entityType: TypeName
    observations: Contents = Field(default_factory=list)

    def to_entity(self) -> Entity:
        return Entity(self.name, self.entityType, tuple(self.observations))


class RelationIn(_Body):
    from_: Name = Field(alias="from")
    to: Name
    relationType: TypeName

    def to_relation(self) -> Relation:
        return Relation(self.from_, self.to, self.relationType)


class CreateEntities(_Body):
    entities: Annotated[list[EntityIn], Field(min_length=1, max_length=MAX_BATCH)]


class DeleteEntities(_Body):
    entityNames: Annotated[list[Name], Field(min_length=1, max_length=MAX_BATCH)]


class Relations(_Body):
    relations: Annotated[list[RelationIn], Field(min_length=1, max_length=MAX_BATCH)]


class ObservationsIn(_Body):
    entityName: Name
    contents: Contents


class AddObservations(_Body):
    observations: Annotated[list[ObservationsIn], Field(min_length=1, max_length=MAX_BATCH)]


class ObservationDeletion(_Body):
    entityName: Name
    observations: Contents


class DeleteObservations(_Body):
    deletions: Annotated[list[ObservationDeletion], Field(min_length=1, max_length=MAX_BATCH)]


class SearchGraph(_Body):
    query: Annotated[str, StringConstraints(max_length=MAX_QUERY_CHARS)]


class OpenNodes(_Body):
    names: Annotated[list[Name], Field(max_length=MAX_BATCH)]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Caller = Annotated[Identity, Depends(agent_identity)]


@router.post("/entities", status_code=201, responses={**answers(EntityList, 201), **WITH_BODY})
def create_entities(body: CreateEntities, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Create entities; names that exist in the namespace are skipped. Returns those created."""
    created = runtime.graph.create_entities([e.to_entity() for e in body.entities], caller.namespace)
    return {"entities": [e.to_dict() for e in created]}


@router.get("/entities", responses={**answers(EntityPage), **responses(422)})
def list_entities(
    runtime: RuntimeDep,
    caller: Caller,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_CHARS,
            description="Only entities whose name, type or an observation contains this (any case).",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BATCH)] = 100,
    offset: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
) -> dict[str, Any]:
    """A page of entities in creation order; ``next_offset`` is null on the last page."""
    page, next_offset = runtime.graph.list_entities(caller.namespace, query=q, limit=limit, offset=offset)
    return {"entities": [e.to_dict() for e in page], "next_offset": next_offset}


@router.get("/entities/{name:path}", responses={**answers(EntityDetail), **responses(422)})
def get_entity(name: NamePath, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """One entity with its observations, and every relation from or to it."""
    try:
        found = runtime.graph.get_entity(name, caller.namespace)
    except EntityNotFound as exc:
        raise to_http(exc, status=404) from None  # the entity the URL names: missing, not bad input
    return {"entity": found.entities[0].to_dict(), "relations": [r.to_dict() for r in found.relations]}


@router.delete("/entities", responses={**answers(DeletedCount), **WITH_BODY})
def delete_entities(body: DeleteEntities, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Delete entities with their observations and relations; unknown names are ignored."""
    deleted = runtime.graph.delete_entities(body.entityNames, caller.namespace)
    return {"deleted": deleted}


@router.delete("/entities/{name:path}", responses={**answers(DeletedCount), **responses(422)})
def delete_entity(name: NamePath, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Delete one entity with its observations and relations; 404 when it does not exist."""
    deleted = runtime.graph.delete_entities([name], caller.namespace)
    if not deleted:
        raise HTTPException(
            404,
            detail={
                "error": "entity_not_found",
                "field": "name",
                "message": f"entity {name!r} does not exist in namespace {caller.namespace!r}",
            },
        )
    return {"deleted": deleted}


@router.post("/relations", status_code=201, responses={**answers(RelationList, 201), **WITH_BODY})
def create_relations(body: Relations, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Create relations; exact duplicates are skipped, an unknown endpoint refuses the whole call."""
    created = runtime.graph.create_relations([r.to_relation() for r in body.relations], caller.namespace)
    return {"relations": [r.to_dict() for r in created]}


@router.delete("/relations", responses={**answers(DeletedCount), **WITH_BODY})
def delete_relations(body: Relations, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Delete relations; those that do not exist are ignored."""
    deleted = runtime.graph.delete_relations([r.to_relation() for r in body.relations], caller.namespace)
    return {"deleted": deleted}


@router.post("/observations", status_code=201, responses={**answers(AddedObservations, 201), **WITH_BODY})
def add_observations(body: AddObservations, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Add observations the entities lack; an unknown entity refuses the whole call."""
    results = runtime.graph.add_observations(
        [ObservationSet(o.entityName, tuple(o.contents)) for o in body.observations], caller.namespace
    )
    return {
        "results": [{"entityName": r.entity_name, "addedObservations": list(r.contents)} for r in results]
    }


@router.delete("/observations", responses={**answers(DeletedCount), **WITH_BODY})
def delete_observations(body: DeleteObservations, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Delete observations; unknown entities and contents are ignored."""
    deleted = runtime.graph.delete_observations(
        [ObservationSet(d.entityName, tuple(d.observations)) for d in body.deletions], caller.namespace
    )
    return {"deleted": deleted}


@router.get("/graph", responses=answers(Graph))
def read_graph(runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """The caller's whole graph: every entity and relation of its namespace."""
    return runtime.graph.read_graph(caller.namespace).to_dict()


@router.post("/graph/search", responses={**answers(Graph), **WITH_BODY})
def search_graph(body: SearchGraph, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Entities whose name, type or an observation contains ``query``, and their relations."""
    found = runtime.graph.search_nodes(body.query, caller.namespace)
    return found.to_dict()


@router.post("/graph/open", responses={**answers(Graph), **WITH_BODY})
def open_nodes(body: OpenNodes, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """The named entities (unknown names skipped) and their relations."""
    found = runtime.graph.open_nodes(body.names, caller.namespace)
    return found.to_dict()
