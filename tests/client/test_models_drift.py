"""The client's models against the service's contract: ``ErrorBody`` and the request bodies
against ``/openapi.json`` (where the document is exact), every success model against live
answers (the document describes those as free-form objects), so a renamed field fails here."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from memory_system.client import MemoryClient, models
from tests.client.conftest import Service

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _missing(model: type[BaseModel], body: Any, where: str) -> list[str]:
    """Every field ``model`` declares that ``body`` lacks, nested models included."""
    problems = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in body:
            problems.append(f"{where}.{key}")
            continue
        nested = info.annotation
        inner = getattr(nested, "__args__", (nested,))
        for kind in inner:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                values = body[key] if isinstance(body[key], list) else [body[key]]
                for value in values:
                    if isinstance(value, dict):
                        problems += _missing(kind, value, f"{where}.{key}")
    return problems


def test_error_body_matches_the_documented_component(service: Service) -> None:
    document = httpx.get(service.url + "/openapi.json", timeout=30).json()
    component = document["components"]["schemas"]["ErrorBody"]
    declared = models.ErrorBody.model_fields
    assert set(declared) == set(component["properties"])
    required = {n for n, f in declared.items() if f.is_required()}
    assert required == set(component["required"])
    for name in ("error", "message"):
        assert component["properties"][name]["type"] == "string"


def test_what_the_client_sends_is_in_the_request_schemas(service: Service) -> None:
    schemas = httpx.get(service.url + "/openapi.json", timeout=30).json()["components"]["schemas"]
    sent = {
        "MemoryIn": {"content", "kind", "tier", "importance", "metadata", "session_id", "user_id"},
        "BatchIn": {"items"},
        "SearchIn": {"query", "k", "filters"},
        "InjectRequest": {"query", "session_id", "token_budget", "format", "user_id"},
        "StateIn": {"state", "version"},
        "HandoffIn": {"to_agent_id"},
        "ShareIn": {"agent_ids", "namespace", "expires_at"},
        "PreferenceIn": {"value"},
        "CodePatternIn": {"language", "name", "description", "example"},
        "CreateEntities": {"entities"},
        "DeleteEntities": {"entityNames"},
        "Relations": {"relations"},
        "AddObservations": {"observations"},
        "SearchGraph": {"query"},
    }
    for schema, fields in sent.items():
        assert fields <= set(schemas[schema]["properties"]), schema
    assert {"name", "entityType", "observations"} == set(schemas["EntityIn"]["properties"])
    assert {"from", "to", "relationType"} == set(schemas["RelationIn"]["properties"])


def test_every_model_field_is_in_the_live_answers(service: Service) -> None:
    agent = httpx.Client(
        base_url=service.url, timeout=30, headers={"Authorization": f"Bearer {service.planner}"}
    )
    with agent, MemoryClient(service.url, token=service.planner, timeout_s=30) as memory:
        session = agent.post("/v1/sessions").json()
        sid = session["session_id"]
        created = agent.post("/v1/memories", json={"content": "drift probe", "session_id": sid}).json()
        mid = created["id"]
        memory.create_entities([{"name": "ana", "entityType": "person", "observations": ["x"]}])
        memory.create_entities([{"name": "bo", "entityType": "person", "observations": []}])
        memory.create_relations([{"from": "ana", "to": "bo", "relationType": "knows"}])
        pattern = agent.post("/v1/code-patterns", json={"language": "go", "name": "errgroup"}).json()
        answers: list[tuple[type[BaseModel], Any]] = [
            (models.Session, session),
            (models.MemoryWrite, created),
            (models.Memory, agent.get(f"/v1/memories/{mid}").json()),
            (models.MemoryPage, agent.get("/v1/memories").json()),
            (models.BatchResult, agent.post("/v1/memories/batch", json={"items": [{"content": "b"}]}).json()),
            (models.SearchResult, agent.post("/v1/memories/search", json={"query": "drift probe"}).json()),
            (models.Injection, agent.post("/v1/inject", json={"query": "drift", "session_id": sid}).json()),
            (
                models.SessionState,
                agent.put(f"/v1/sessions/{sid}/state", json={"state": {}, "version": 0}).json(),
            ),
            (models.Shares, agent.post(f"/v1/memories/{mid}/shares", json={"agent_ids": ["coder"]}).json()),
            (models.Preference, agent.put("/v1/preferences/k?user_id=u", json={"value": 1}).json()),
            (models.PreferenceList, agent.get("/v1/preferences?user_id=u").json()),
            (models.CodePattern, pattern),
            (models.CodePatternPage, agent.get("/v1/code-patterns").json()),
            (models.CodePatternSearch, agent.get("/v1/code-patterns/search?q=errgroup").json()),
            (models.EntityDetail, agent.get("/v1/entities/ana").json()),
            (models.Graph, agent.get("/v1/graph").json()),
            (models.Readiness, agent.get("/health/ready").json()),
            (models.Handoff, agent.post(f"/v1/sessions/{sid}/handoff", json={"to_agent_id": "coder"}).json()),
        ]
        assert agent.get("/v1/memories/999999").status_code == 404
        error = agent.get("/v1/memories/999999").json()
    problems = [p for model, body in answers for p in _missing(model, body, model.__name__)]
    problems += _missing(models.ErrorBody, {"field": None, **error}, "ErrorBody")
    optional = {
        "CodePattern.score",
        "CodePatternPage.code_patterns.score",
        "Readiness.reasons",
    }  # only in search answers / a 503
    assert [p for p in problems if p not in optional] == []
    for model, body in answers:
        model.model_validate(body)
