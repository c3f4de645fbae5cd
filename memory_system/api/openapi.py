"""The OpenAPI document: FastAPI's, with each parameter's schema as a client can send it.

FastAPI writes an optional parameter (``kind: str | None = None``) as ``anyOf [string, null]``.
A path, query string or header cannot carry a JSON null: a client generating requests from
the schema would send the text ``null``, which the parameter's own schema refuses. So each
parameter keeps its non-null branch; leaving the parameter out is how it is "null".

A route that returns a ``dict`` documents its body with ``api/responses.answers(Model)``;
FastAPI merges that ``$ref`` into the free-form object it derives from the ``dict`` annotation
(``{"type": "object", "additionalProperties": true, "$ref": ...}``). Each such schema keeps
the ``$ref`` alone, so the model, and nothing looser beside it, is what a success body must be.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["install", "only_documented_models", "without_null_parameters"]

_NULL = {"type": "null"}


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or _NULL not in branches:
        return schema
    rest = [b for b in branches if b != _NULL]
    outer = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    inner = rest[0] if len(rest) == 1 else {"anyOf": rest}
    return {**inner, **outer}


def without_null_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with no parameter schema admitting null (changed in place, and returned)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if isinstance(parameter.get("schema"), dict):
                    parameter["schema"] = _non_null(parameter["schema"])
    return document


def only_documented_models(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each response schema that names a model reduced to its ``$ref``."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    schema = media.get("schema")
                    if isinstance(schema, dict) and "$ref" in schema:
                        media["schema"] = {"$ref": schema["$ref"]}
    return document


def install(app: FastAPI) -> None:
    """Serve ``without_null_parameters`` and ``only_documented_models`` of FastAPI's document
    at ``/openapi.json``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        return only_documented_models(without_null_parameters(generate()))

    app.openapi = openapi  # type: ignore[method-assign]
