"""Success bodies of Phase 1 entity memory, in the reference MCP memory server's field names."""

from __future__ import annotations

from pydantic import Field

from memory_system.api.responses import Answer

__all__ = [
    "AddedObservations",
    "DeletedCount",
    "Entity",
    "EntityDetail",
    "EntityList",
    "EntityPage",
    "Graph",
    "ObservationsAdded",
    "Relation",
    "RelationList",
]


class Entity(Answer):
    name: str
    entityType: str
    observations: list[str]


class Relation(Answer):
    from_: str = Field(alias="from")
    to: str
    relationType: str


class Graph(Answer):
    entities: list[Entity]
    relations: list[Relation]


class EntityList(Answer):
    entities: list[Entity] = Field(description="Those created (names that existed are skipped).")


class RelationList(Answer):
    relations: list[Relation] = Field(description="Those created (exact duplicates are skipped).")


class EntityPage(Answer):
    entities: list[Entity] = Field(description="In creation order.")
    next_offset: int | None = Field(description="offset of the next page; null on the last one.")


class EntityDetail(Answer):
    entity: Entity
    relations: list[Relation] = Field(description="Every relation from or to it.")


class ObservationsAdded(Answer):
    entityName: str
    addedObservations: list[str] = Field(description="Those the entity did not have yet.")


class AddedObservations(Answer):
    results: list[ObservationsAdded]


class DeletedCount(Answer):
    deleted: int = Field(description="How many were deleted.")
