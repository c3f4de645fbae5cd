"""The client's models against the service's contract, ``/openapi.json`` of a live service.

Every operation the client calls (each function of ``client/_calls``) is found in the document
by method and path; the model the client reads its success answer with must be the component
the document names for it: the same name, the same fields by their JSON names, the same
required ones, the same JSON types (``datetime`` is a ``date-time`` string), and nested models
alike, recursively. So a field the service renames, retypes, adds or drops fails here. The
request bodies the client sends must be in the request schemas, and live answers must parse.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from datetime import datetime
from typing import Any, Literal, Union

import httpx
from pydantic import BaseModel

from memory_system.client import MemoryClient, _calls, models
from memory_system.client._calls import Call
from tests.client.conftest import Service

# A JSON type: "string", "date-time", "integer", "number", "boolean", "null", "any",
# ("array", kinds), ("object", kinds) for a map, ("model", name) for a component.
Kinds = frozenset[Any]
_SCALARS = {str: "string", datetime: "date-time", int: "integer", float: "number", bool: "boolean"}
_REF = "#/components/schemas/"

# Each call of the client once, with stand-in arguments: only method, path and parse matter.
CALLS: dict[str, Call[Any]] = {
    "start_session": _calls.start_session(),
    "get_session": _calls.get_session("s"),
    "end_session": _calls.end_session("s"),
    "get_state": _calls.get_state("s"),
    "put_state": _calls.put_state("s", {}, 0),
    "handoff": _calls.handoff("s", "coder"),
    "remember": _calls.remember("x"),
    "remember_many": _calls.remember_many([{"content": "x"}]),
    "list_memories": _calls.list_memories(),
    "get_memory": _calls.get_memory(7),
    "update_memory": _calls.update_memory(7, {"content": "y"}),
    "delete_memory": _calls.delete_memory(7),
    "search": _calls.search("q", 5, None, None),
    "inject": _calls.inject("q"),
    "share": _calls.share(7, ["coder"], False, None),
    "list_shares": _calls.list_shares(7),
    "revoke": _calls.revoke(7, ["coder"], False),
    "set_preference": _calls.set_preference("u", "k", 1),
    "get_preference": _calls.get_preference("u", "k"),
    "list_preferences": _calls.list_preferences("u"),
    "delete_preference": _calls.delete_preference("u", "k"),
    "put_code_pattern": _calls.put_code_pattern("go", "errgroup"),
    "get_code_pattern": _calls.get_code_pattern(7),
    "list_code_patterns": _calls.list_code_patterns(),
    "search_code_patterns": _calls.search_code_patterns("q"),
    "delete_code_pattern": _calls.delete_code_pattern(7),
    "create_entities": _calls.create_entities([]),
    "get_entity": _calls.get_entity("ana"),
    "delete_entities": _calls.delete_entities(["ana"]),
    "create_relations": _calls.create_relations([]),
    "add_observations": _calls.add_observations("ana", ["x"]),
    "read_graph": _calls.read_graph(),
    "search_graph": _calls.search_graph("q"),
    "ready": _calls.ready(),
    "feature_flags": _calls.feature_flags(),
    "feature_flag_stats": _calls.feature_flag_stats(),
}
# Calls that read one part of the answer, not all of it with a model: (path of keys, the type
# the client reads there). [] steps into an array's items.
PARTS: dict[str, tuple[tuple[str, ...], Any]] = {
    "delete_memory": (("deleted",), int),
    "delete_preference": (("deleted",), str),
    "delete_code_pattern": (("deleted",), int),
    "delete_entities": (("deleted",), int),
    "create_entities": (("entities",), list[models.Entity]),
    "create_relations": (("relations",), list[models.Relation]),
    "add_observations": (("results", "[]", "addedObservations"), list[str]),
    "feature_flags": ((), dict[str, Any]),
    "feature_flag_stats": ((), dict[str, Any]),
}


def _client_kinds(annotation: Any) -> Kinds:
    """The JSON types a client annotation reads."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return frozenset({"any"})
    if annotation is None or annotation is type(None):
        return frozenset({"null"})
    if origin in (Union, types.UnionType):
        return frozenset().union(*(_client_kinds(a) for a in typing.get_args(annotation)))
    if origin is Literal:
        return frozenset({_SCALARS[type(v)] for v in typing.get_args(annotation)})
    if origin is list:
        return frozenset({("array", _client_kinds(typing.get_args(annotation)[0]))})
    if origin is dict:
        return frozenset({("object", _client_kinds(typing.get_args(annotation)[1]))})
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return frozenset({("model", annotation.__name__)})
    return frozenset({_SCALARS[annotation]})


def _schema_kinds(schema: Any) -> Kinds:
    """The JSON types a schema of the document allows, components by name."""
    if schema is True or schema == {}:
        return frozenset({"any"})
    if "$ref" in schema:
        return frozenset({("model", schema["$ref"].removeprefix(_REF))})
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return frozenset().union(*(_schema_kinds(s) for s in schema[union]))
    kind = schema.get("type")
    if kind is None and ("enum" in schema or "const" in schema):
        values = schema.get("enum", [schema.get("const")])
        return frozenset({_SCALARS[type(v)] for v in values})
    if kind is None:  # only a title, a description: any JSON value
        return frozenset({"any"})
    if kind == "array":
        return frozenset({("array", _schema_kinds(schema.get("items", {})))})
    if kind == "object":
        assert "properties" not in schema, f"an inline object where a component was expected: {schema}"
        return frozenset({("object", _schema_kinds(schema.get("additionalProperties", True)))})
    if kind == "string" and schema.get("format") == "date-time":
        return frozenset({"date-time"})
    return frozenset(kind if isinstance(kind, list) else [kind])


def _models_in(kinds: Kinds) -> set[str]:
    found = set()
    for kind in kinds:
        if isinstance(kind, tuple) and kind[0] == "model":
            found.add(kind[1])
        elif isinstance(kind, tuple):
            found |= _models_in(kind[1])
    return found


def _compare(name: str, components: dict[str, Any], seen: set[str]) -> list[str]:
    """Every difference between the client's model ``name`` and the component ``name``."""
    if name in seen:
        return []
    seen.add(name)
    model = getattr(models, name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return [f"{name}: the document has the component, the client no model of that name"]
    component = components[name]
    fields = {info.alias or field: info for field, info in model.model_fields.items()}
    documented = component.get("properties", {})
    problems = [
        f"{name}.{key}: the document has it, the client does not" for key in documented.keys() - fields
    ]
    problems += [
        f"{name}.{key}: the client has it, the document does not" for key in fields.keys() - documented
    ]
    required = {key for key, info in fields.items() if info.is_required()}
    if required != set(component.get("required", [])):
        problems.append(
            f"{name}: required {sorted(required)} != documented {sorted(component.get('required', []))}"
        )
    for key in fields.keys() & documented.keys():
        mine, theirs = _client_kinds(fields[key].annotation), _schema_kinds(documented[key])
        if mine != theirs:
            problems.append(f"{name}.{key}: the client reads {sorted(map(str, mine))}, "
                            f"the document says {sorted(map(str, theirs))}")  # fmt: skip
            continue
        for nested in _models_in(theirs):
            problems += _compare(nested, components, seen)
    return problems


def _operation(document: dict[str, Any], call: Call[Any]) -> tuple[str, dict[str, Any]]:
    """The documented path and operation a call reaches: the literal path, else the one whose
    parameters (one segment each) match, as the service routes ``/v1/code-patterns/search``."""
    found = [
        (path, operations[call.method.lower()])
        for path, operations in document["paths"].items()
        if call.method.lower() in operations and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", path), call.path)
    ]
    found = [(path, operation) for path, operation in found if path == call.path] or found
    assert len(found) == 1, (call.method, call.path, [p for p, _ in found])
    return found[0]


def _success_component(operation: dict[str, Any]) -> str:
    """The one component every success status of the operation answers with."""
    names = {
        media["schema"]["$ref"].removeprefix(_REF)
        for status, response in operation["responses"].items()
        if int(status) < 300
        for media in response["content"].values()
    }
    assert len(names) == 1, names
    (name,) = names
    return str(name)


def _part(components: dict[str, Any], name: str, keys: tuple[str, ...]) -> Any:
    schema: Any = {"$ref": _REF + name}
    for key in keys:
        while "$ref" in schema:
            schema = components[schema["$ref"].removeprefix(_REF)]
        schema = schema["items"] if key == "[]" else schema["properties"][key]
    return schema


def test_every_call_of_the_client_is_checked() -> None:
    """A new call in client/_calls without a line in CALLS fails here, not in production."""
    functions = {
        name
        for name, f in vars(_calls).items()
        if inspect.isfunction(f)
        and f.__module__ == _calls.__name__
        and str(f.__annotations__.get("return", "")).startswith("Call[")
    }
    assert functions == set(CALLS)


def test_the_comparison_sees_a_renamed_a_retyped_and_a_dropped_field() -> None:
    """The check itself: a component unlike the client's model is reported, field by field."""
    session = {
        name: {"type": "string", "format": "date-time"} if name.endswith("_at") else {"type": "string"}
        for name in ("session_id", "agent_id", "namespace", "created_at", "last_active_at")
    }
    component = {
        "properties": {
            **session,
            "ended": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            "flags": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": list(session),
    }
    problems = _compare("Session", {"Session": component}, set())
    assert "Session.ended: the document has it, the client does not" in problems
    assert "Session.ended_at: the client has it, the document does not" in problems
    assert any(p.startswith("Session.flags: the client reads") for p in problems)
    assert any(p.startswith("Session: required") for p in problems)


def test_every_success_model_of_the_client_is_its_documented_component(service: Service) -> None:
    document = httpx.get(service.url + "/openapi.json", timeout=30).json()
    components = document["components"]["schemas"]
    problems: list[str] = []
    seen: set[str] = set()
    for function, call in CALLS.items():
        path, operation = _operation(document, call)
        name = _success_component(operation)
        if function in PARTS:
            keys, annotation = PARTS[function]
            mine = _client_kinds(annotation)
            theirs = (
                _schema_kinds(_part(components, name, keys))
                if keys
                else frozenset({("object", frozenset({"any"}))})
            )
            if keys and mine != theirs:
                problems.append(
                    f"{function} ({call.method} {path}): {keys} read as {mine}, documented {theirs}"
                )
            for nested in _models_in(theirs) if keys else ():
                problems += _compare(nested, components, seen)
            continue
        model = getattr(call.parse, "__self__", None)
        assert isinstance(model, type) and issubclass(model, BaseModel), function
        if model.__name__ != name:
            problems.append(
                f"{function} ({call.method} {path}): the client reads {model.__name__}, documented {name}"
            )
        problems += _compare(name, components, seen)
    assert problems == []


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
    component = schemas["ErrorBody"]
    declared = models.ErrorBody.model_fields
    assert set(declared) == set(component["properties"])
    assert {n for n, f in declared.items() if f.is_required()} == set(component["required"])


def _missing(model: type[BaseModel], body: Any, where: str) -> list[str]:
    """Every required field of ``model`` that ``body`` lacks, nested models included."""
    problems = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in body:
            if info.is_required():
                problems.append(f"{where}.{key}")
            continue
        for kind in getattr(info.annotation, "__args__", (info.annotation,)):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                values = body[key] if isinstance(body[key], list) else [body[key]]
                for value in values:
                    if isinstance(value, dict):
                        problems += _missing(kind, value, f"{where}.{key}")
    return problems


def test_live_answers_parse_with_the_client_models(service: Service) -> None:
    """The document's word checked against the service's deeds, model by model."""
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
        memory.set_preference("u", "style", "terse")
        pattern = agent.post("/v1/code-patterns", json={"language": "go", "name": "errgroup"}).json()
        answers: list[tuple[type[BaseModel], Any]] = [
            (models.Session, session),
            (models.MemoryWrite, created),
            (models.Memory, agent.get(f"/v1/memories/{mid}").json()),
            (models.MemoryPage, agent.get("/v1/memories").json()),
            (models.BatchResult, agent.post("/v1/memories/batch", json={"items": [{"content": "b"}]}).json()),
            (models.SearchResult, agent.post("/v1/memories/search", json={"query": "drift probe"}).json()),
            (
                models.Injection,
                agent.post(
                    "/v1/inject", json={"query": "drift errgroup ana", "session_id": sid, "user_id": "u"}
                ).json(),
            ),
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
    problems += _missing(models.ErrorBody, error, "ErrorBody")
    assert problems == []
    for model, body in answers:
        model.model_validate(body)
    injection = models.Injection.model_validate(answers[6][1])
    assert injection.manifest.memories and injection.manifest.preferences  # the nested models were read
