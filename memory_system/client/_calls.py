"""Each operation of the HTTP API once, as a ``Call``: what to send, whether a retry after the
request was sent is safe (``idempotent``), and how to read the answer. Both clients run these."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from memory_system.client import models as m

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

__all__ = ["Call"]


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = True
    admin: bool = False
    # Statuses that are an answer rather than an error (the readiness probe's 503).
    accept: tuple[int, ...] = ()


def _model(model: type[M]) -> Callable[[Any], M]:
    return model.model_validate


def _key(name: str) -> Callable[[Any], Any]:
    return lambda body: body[name]


def _given(**values: Any) -> dict[str, Any]:
    """The keyword arguments that were given: None means "leave it to the service"."""
    return {k: v for k, v in values.items() if v is not None}


def _session(session_id: str | None) -> dict[str, str]:
    return {"X-Session-Id": session_id} if session_id else {}


# Sessions and state


def start_session() -> Call[m.Session]:
    return Call("POST", "/v1/sessions", _model(m.Session), idempotent=False)


def get_session(session_id: str) -> Call[m.Session]:
    return Call("GET", f"/v1/sessions/{session_id}", _model(m.Session))


def end_session(session_id: str) -> Call[m.Session]:
    return Call("POST", f"/v1/sessions/{session_id}/end", _model(m.Session))


def get_state(session_id: str) -> Call[m.SessionState]:
    return Call("GET", f"/v1/sessions/{session_id}/state", _model(m.SessionState))


def put_state(session_id: str, state: Mapping[str, Any], version: int) -> Call[m.SessionState]:
    # Versioned: a retry of an applied PUT is a 409 stale_version, never a second write.
    body = {"state": dict(state), "version": version}
    return Call("PUT", f"/v1/sessions/{session_id}/state", _model(m.SessionState), json=body)


def handoff(session_id: str, to_agent_id: str) -> Call[m.Handoff]:
    body = {"to_agent_id": to_agent_id}
    return Call("POST", f"/v1/sessions/{session_id}/handoff", _model(m.Handoff), json=body, idempotent=False)


# Memories


def remember(content: str, **fields: Any) -> Call[m.MemoryWrite]:
    # A repeat of an applied create reinforces the same row (200, reinforced) rather than adding
    # one, but it still counts a reinforcement: so it is retried only where nothing was sent.
    body = {"content": content, **_given(**fields)}
    return Call("POST", "/v1/memories", _model(m.MemoryWrite), json=body, idempotent=False)


def remember_many(items: Sequence[Mapping[str, Any]]) -> Call[m.BatchResult]:
    body = {"items": [dict(item) for item in items]}
    return Call("POST", "/v1/memories/batch", _model(m.BatchResult), json=body, idempotent=False)


def list_memories(**filters: Any) -> Call[m.MemoryPage]:
    params = _given(**filters)
    if isinstance(params.get("metadata"), Mapping):  # {path: value} -> metadata=path:value, repeated
        params["metadata"] = [f"{path}:{value}" for path, value in params["metadata"].items()]
    return Call("GET", "/v1/memories", _model(m.MemoryPage), params=params)


def get_memory(memory_id: int) -> Call[m.Memory]:
    return Call("GET", f"/v1/memories/{memory_id}", _model(m.Memory))


def update_memory(memory_id: int, changes: Mapping[str, Any]) -> Call[m.Memory]:
    # Sets fields to given values: applying it twice leaves the same memory.
    return Call("PATCH", f"/v1/memories/{memory_id}", _model(m.Memory), json=dict(changes))


def delete_memory(memory_id: int) -> Call[int]:
    return Call("DELETE", f"/v1/memories/{memory_id}", _key("deleted"))


def search(
    query: str, k: int, filters: Mapping[str, Any] | None, sessions: str | None
) -> Call[m.SearchResult]:
    body = _given(query=query, k=k, filters=dict(filters) if filters else None)
    return Call("POST", "/v1/memories/search", _model(m.SearchResult), json=body, headers=_session(sessions))


def inject(query: str, **fields: Any) -> Call[m.Injection]:
    body = {"query": query, **_given(**fields)}
    return Call("POST", "/v1/inject", _model(m.Injection), json=body)


# Sharing: grants are a set, granting or revoking twice leaves the same set.


def share(
    memory_id: int, agent_ids: Sequence[str], namespace: bool, expires_at: str | None
) -> Call[m.Shares]:
    body = _given(agent_ids=list(agent_ids), namespace=namespace, expires_at=expires_at)
    return Call("POST", f"/v1/memories/{memory_id}/shares", _model(m.Shares), json=body)


def list_shares(memory_id: int) -> Call[m.Shares]:
    return Call("GET", f"/v1/memories/{memory_id}/shares", _model(m.Shares))


def revoke(memory_id: int, agent_ids: Sequence[str], namespace: bool) -> Call[m.Shares]:
    params = _given(agent_id=list(agent_ids) or None, namespace="true" if namespace else None)
    return Call("DELETE", f"/v1/memories/{memory_id}/shares", _model(m.Shares), params=params)


# Preferences and code patterns


def set_preference(user_id: str, key: str, value: Any) -> Call[m.Preference]:
    params = {"user_id": user_id}
    body = {"value": value}
    return Call("PUT", f"/v1/preferences/{key}", _model(m.Preference), json=body, params=params)


def get_preference(user_id: str, key: str) -> Call[m.Preference]:
    return Call("GET", f"/v1/preferences/{key}", _model(m.Preference), params={"user_id": user_id})


def list_preferences(user_id: str) -> Call[m.PreferenceList]:
    return Call("GET", "/v1/preferences", _model(m.PreferenceList), params={"user_id": user_id})


def delete_preference(user_id: str, key: str) -> Call[str]:
    return Call("DELETE", f"/v1/preferences/{key}", _key("deleted"), params={"user_id": user_id})


def put_code_pattern(language: str, name: str, **fields: Any) -> Call[m.CodePattern]:
    # Keyed by (language, name): a repeat updates the same pattern to the same text.
    body = {"language": language, "name": name, **_given(**fields)}
    return Call("POST", "/v1/code-patterns", _model(m.CodePattern), json=body)


def get_code_pattern(pattern_id: int) -> Call[m.CodePattern]:
    return Call("GET", f"/v1/code-patterns/{pattern_id}", _model(m.CodePattern))


def list_code_patterns(**filters: Any) -> Call[m.CodePatternPage]:
    return Call("GET", "/v1/code-patterns", _model(m.CodePatternPage), params=_given(**filters))


def search_code_patterns(query: str, **filters: Any) -> Call[m.CodePatternSearch]:
    params = {"q": query, **_given(**filters)}
    return Call("GET", "/v1/code-patterns/search", _model(m.CodePatternSearch), params=params)


def delete_code_pattern(pattern_id: int) -> Call[int]:
    return Call("DELETE", f"/v1/code-patterns/{pattern_id}", _key("deleted"))


# Entity memory: existing names and relations are skipped, so a repeat creates nothing new.


def _entities(body: Any) -> list[m.Entity]:
    return [m.Entity.model_validate(e) for e in body["entities"]]


def _relations(body: Any) -> list[m.Relation]:
    return [m.Relation.model_validate(r) for r in body["relations"]]


def create_entities(entities: Sequence[Mapping[str, Any]]) -> Call[list[m.Entity]]:
    return Call("POST", "/v1/entities", _entities, json={"entities": [dict(e) for e in entities]})


def get_entity(name: str) -> Call[m.EntityDetail]:
    return Call("GET", f"/v1/entities/{name}", _model(m.EntityDetail))


def delete_entities(names: Sequence[str]) -> Call[int]:
    return Call("DELETE", "/v1/entities", _key("deleted"), json={"entityNames": list(names)})


def create_relations(relations: Sequence[Mapping[str, Any]]) -> Call[list[m.Relation]]:
    return Call("POST", "/v1/relations", _relations, json={"relations": [dict(r) for r in relations]})


def add_observations(entity_name: str, contents: Sequence[str]) -> Call[list[str]]:
    body = {"observations": [{"entityName": entity_name, "contents": list(contents)}]}
    # Not idempotent: the same observation added twice is stored twice.
    return Call(
        "POST",
        "/v1/observations",
        lambda b: list(b["results"][0]["addedObservations"]),
        json=body,
        idempotent=False,
    )


def read_graph() -> Call[m.Graph]:
    return Call("GET", "/v1/graph", _model(m.Graph))


def search_graph(query: str) -> Call[m.Graph]:
    return Call("POST", "/v1/graph/search", _model(m.Graph), json={"query": query})


# Operations


def ready() -> Call[m.Readiness]:
    return Call("GET", "/health/ready", _model(m.Readiness), accept=(503,))


def feature_flags() -> Call[dict[str, Any]]:
    return Call("GET", "/admin/feature-flags", dict, admin=True)


def feature_flag_stats() -> Call[dict[str, Any]]:
    return Call("GET", "/admin/feature-flags/stats", dict, admin=True)
