"""The OpenAPI document describes the service: every status each operation can answer, one
error model, and the services' own limits (patterns, lengths, enums, bounds) in the schemas."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory_system.api.app import ROUTERS, create_app
from memory_system.api.deps import agent_identity, require_admin
from memory_system.api.errors import REFUSALS
from memory_system.api.fields import WHITESPACE
from memory_system.core.settings import Settings
from memory_system.core.validation import AGENT_ID_PATTERN, INT64_MAX
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.values import FlagError, parse_value
from memory_system.memory.graph.entities import MAX_NAME_CHARS
from memory_system.memory.records.models import (
    KIND_PATTERN,
    MAX_BATCH,
    MAX_CONTENT_BYTES,
    TIERS,
    VISIBILITIES,
)
from memory_system.memory.retrieval.hybrid import MAX_K, SOURCES
from memory_system.memory.sharing.grants import MAX_GRANTEES
from memory_system.memory.typed.preferences import KEY_PATTERN
from memory_system.runtime import Runtime

ERROR_REF = "#/components/schemas/ErrorBody"
AGENT = {"401", "403", "404", "500", "503"}  # 404: an X-Session-Id naming another agent's session
ADMIN = {"401", "403", "500", "503"}
WITH_BODY = {"400", "413", "422"}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("openapi")
    runtime = Runtime(Settings(db_path=tmp / "doc.db", dev=True, config_path=tmp / "none.json"))
    yield create_app(runtime).openapi()
    runtime.close()


def _calls(dependant: Any) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for dependency in dependant.dependencies:
        found |= {dependency.call, *_calls(dependency)}
    return found


def _auth() -> dict[tuple[str, str], str]:
    """(method, documented path) -> agent, admin or none, read from each route's dependencies."""
    auth: dict[tuple[str, str], str] = {}
    for module in ROUTERS:
        for route in module.router.routes:
            if not getattr(route, "include_in_schema", False):
                continue
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            calls = _calls(route.dependant)
            who = "admin" if require_admin in calls else "agent" if agent_identity in calls else "none"
            auth |= {(method.lower(), path): who for method in route.methods}
    return auth


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_every_operation_lists_what_it_can_answer(document: dict[str, Any]) -> None:
    auth = _auth()
    missing = {}
    for method, path, operation in _operations(document):
        expected = {"500"} | {"agent": AGENT, "admin": ADMIN, "none": set()}[auth[(method, path)]]
        if "requestBody" in operation:
            expected |= WITH_BODY
        if operation.get("parameters"):
            expected |= {"422"}
        if gap := expected - set(operation["responses"]):
            missing[f"{method.upper()} {path}"] = sorted(gap)
    assert missing == {}


def test_every_error_status_is_documented_with_the_one_error_model(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schemas = [c.get("schema", {}).get("$ref") for c in response.get("content", {}).values()]
            if not schemas or any(s != ERROR_REF for s in schemas):
                wrong.append((method, path, status, schemas))
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]
    body = document["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"error", "message", "request_id", "detail"}
    assert "field" in body["properties"]


def test_every_status_a_service_refusal_maps_to_is_documented_somewhere(document: dict[str, Any]) -> None:
    documented = {s for _, _, operation in _operations(document) for s in operation["responses"]}
    assert {str(rule.status) for rule in REFUSALS.values()} <= documented


def test_a_second_success_status_is_documented(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert {"200", "201"} <= set(paths["/v1/memories"]["post"]["responses"])  # 200: reinforced
    assert {"200", "201"} <= set(paths["/v1/preferences/{key}"]["put"]["responses"])  # 201: new key
    assert {"200", "201"} <= set(paths["/v1/code-patterns"]["post"]["responses"])  # 200: updated


def test_every_success_status_answers_with_a_model_that_refuses_unknown_keys(
    document: dict[str, Any],
) -> None:
    """No free-form success body: each names a component (api/responses) closed to other keys,
    the same model for every success status of an operation."""
    components = document["components"]["schemas"]
    loose: list[tuple[Any, ...]] = []
    for method, path, operation in _operations(document):
        refs = set()
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                continue
            for media, content in response.get("content", {}).items():
                schema = content.get("schema", {})
                if set(schema) != {"$ref"}:
                    loose.append((method, path, status, media, schema))
                else:
                    refs.add(schema["$ref"])
        for ref in refs:
            if components[ref.removeprefix("#/components/schemas/")].get("additionalProperties") is not False:
                loose.append((method, path, ref, "additionalProperties"))
        if len(refs) != 1:
            loose.append((method, path, sorted(refs)))
    assert loose == []


def test_success_models_are_closed_all_the_way_down(document: dict[str, Any]) -> None:
    """A nested model (a memory in a page, a manifest in an injection) refuses unknown keys too."""
    components = document["components"]["schemas"]
    names = {
        content["schema"]["$ref"].removeprefix("#/components/schemas/")
        for _, _, operation in _operations(document)
        for status, response in operation["responses"].items()
        if int(status) < 400
        for content in response.get("content", {}).values()
    }
    seen: set[str] = set()
    while names:
        name = names.pop()
        seen.add(name)
        assert components[name].get("additionalProperties") is False, name
        names |= set(re.findall(r"#/components/schemas/(\w+)", repr(components[name]))) - seen
    assert {"Memory", "Manifest", "ManifestMemory", "Grant", "FlagState", "ReadinessConfig"} <= seen


def test_what_a_success_body_may_hold_is_the_services_own(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    memory = schemas["Memory"]["properties"]
    assert tuple(memory["tier"]["enum"]) == TIERS
    assert set(memory["visibility"]["enum"]) == {*VISIBILITIES, "shared"}  # shared: set by a grant
    assert memory["created_at"]["format"] == "date-time"
    assert tuple(schemas["SearchResult"]["properties"]["sources"]["items"]["enum"]) == SOURCES
    assert set(schemas["FlagSnapshot"]["properties"]["flags"]["propertyNames"]["enum"]) == set(FLAG_NAMES)
    assert schemas["Relation"]["required"] == ["from", "to", "relationType"]
    assert "score" not in schemas["CodePattern"]["required"]  # only in search answers


def test_no_parameter_admits_null(document: dict[str, Any]) -> None:
    nullable = [
        (method, path, p["name"])
        for method, path, operation in _operations(document)
        for p in operation.get("parameters", [])
        if "null" in repr(p["schema"])
    ]
    assert nullable == []


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def _parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    (found,) = [p for p in document["paths"][path][method]["parameters"] if p["name"] == name]
    schema: dict[str, Any] = found["schema"]
    return schema


def test_the_limits_are_the_services_own(document: dict[str, Any]) -> None:
    memory = _schema(document, "MemoryIn")["properties"]
    assert memory["kind"]["pattern"] == KIND_PATTERN
    assert memory["content"]["maxLength"] == MAX_CONTENT_BYTES and memory["content"]["minLength"] == 1
    assert memory["importance"]["minimum"] == 0 and memory["importance"]["maximum"] == 1
    assert tuple(memory["tier"]["anyOf"][0]["enum"]) == TIERS
    assert tuple(memory["visibility"]["enum"]) == VISIBILITIES
    assert memory["occurred_at"]["anyOf"][0]["format"] == "date-time"
    items = _schema(document, "BatchIn")["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, MAX_BATCH)
    assert _schema(document, "MemoryPatchIn")["minProperties"] == 1
    assert _schema(document, "MemoryPatchIn")["additionalProperties"] is False

    search = _schema(document, "SearchIn")["properties"]
    assert search["k"]["maximum"] == MAX_K
    assert tuple(search["sources"]["anyOf"][0]["items"]["enum"]) == SOURCES
    share = _schema(document, "ShareIn")["properties"]["agent_ids"]
    assert share["maxItems"] == MAX_GRANTEES and share["items"]["pattern"] == AGENT_ID_PATTERN
    assert _schema(document, "HandoffIn")["properties"]["to_agent_id"]["pattern"] == AGENT_ID_PATTERN
    entity = _schema(document, "EntityIn")["properties"]
    assert entity["name"]["maxLength"] == MAX_NAME_CHARS and entity["name"]["minLength"] == 1

    assert _parameter(document, "put", "/v1/preferences/{key}", "key")["pattern"] == KEY_PATTERN
    for method, path, name in [
        ("get", "/v1/memories/{memory_id}", "memory_id"),
        ("patch", "/v1/memories/{memory_id}", "memory_id"),
        ("get", "/v1/code-patterns/{pattern_id}", "pattern_id"),
        ("post", "/v1/memories/{memory_id}/shares", "memory_id"),
        ("get", "/v1/shares/events", "before_id"),
        ("get", "/v1/code-patterns", "cursor"),
        ("get", "/v1/entities", "offset"),
    ]:
        assert _parameter(document, method, path, name)["maximum"] == INT64_MAX, (method, path, name)
    flag_body = document["paths"]["/admin/feature-flags"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert sorted(flag_body["schema"]["properties"]) == sorted(FLAG_NAMES)


def test_whitespace_is_what_str_strip_removes() -> None:
    """The patterns' WHITESPACE class, read by Python's re, is exactly ``str.isspace``."""
    assert re.fullmatch(f"[{WHITESPACE}]+", "".join(chr(c) for c in range(0x110000) if chr(c).isspace()))
    assert not any(re.fullmatch(f"[{WHITESPACE}]", chr(c)) for c in range(0x110000) if not chr(c).isspace())


@pytest.mark.parametrize(
    "text", ["true", " FALSE ", "0", "0.25", ".5", "1", "1.", "1.000", "00.5", "\u30000.1\u3000", "0."]
)
def test_a_flag_value_the_schema_allows_is_one_the_service_takes(document: dict[str, Any], text: str) -> None:
    flag_body = document["paths"]["/admin/feature-flags"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    (string,) = [
        b for b in flag_body["schema"]["properties"][FLAG_NAMES[0]]["anyOf"] if b["type"] == "string"
    ]
    assert re.search(string["pattern"], text)
    assert 0.0 <= parse_value(text, flag=FLAG_NAMES[0], source="test") <= 1.0


@pytest.mark.parametrize("text", ["1.5", "yes", "", "10%", "-0.1", "0.5x"])
def test_a_flag_value_the_service_refuses_the_schema_refuses(document: dict[str, Any], text: str) -> None:
    flag_body = document["paths"]["/admin/feature-flags"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    (string,) = [
        b for b in flag_body["schema"]["properties"][FLAG_NAMES[0]]["anyOf"] if b["type"] == "string"
    ]
    assert not re.search(string["pattern"], text)
    with pytest.raises(FlagError):
        parse_value(text, flag=FLAG_NAMES[0], source="test")


def test_the_document_is_the_one_served(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    runtime = Runtime(Settings(db_path=tmp_path / "served.db", dev=True, config_path=tmp_path / "none.json"))
    app = create_app(runtime)
    with TestClient(app) as client:
        assert client.get("/openapi.json").json() == app.openapi()
    runtime.close()
