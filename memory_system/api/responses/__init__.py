"""The success bodies of the HTTP API, as pydantic models: the OpenAPI document's exact schemas.

Why documented, not enforced at run time: every route keeps returning what its service
renders (``to_dict``), and the models reach ``/openapi.json`` through ``answers(...)``, FastAPI's
``responses={status: {"model": ...}}`` (``api/openapi`` keeps the model's ``$ref`` alone). Measured
in-process (httpx's ASGI transport, 2026-12-03): ``response_model=Injection`` on ``POST /v1/inject`` cost
nothing measurable (235 vs 239 us a request) but changed the bytes clients get: defaults filled
in (``"truncated": false`` on every manifest entry) or, with ``exclude_unset``, floats written
by pydantic (``1e-06`` became ``1e-6``); on a sync route it adds a validation pass on a worker
thread (a page of 50 memories: 340 -> 449 us). What keeps the service true to these models is
``tests/contract`` (schemathesis checks every success body against them) and
``tests/api/test_openapi.py`` (every success status names one).

Models refuse unknown keys (``additionalProperties: false``), so a key the service adds
without adding it here fails the contract test; keys the service leaves out on some answers
have a default here and are not ``required``. One module per part of the API::

    @router.get("/{memory_id:int}", responses=answers(Memory))
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Answer", "Time", "answers"]

# Every time the service writes: ISO 8601 UTC with milliseconds (core.validation.check_timestamp).
Time = Annotated[str, Field(json_schema_extra={"format": "date-time"}, examples=["2024-05-01T12:00:00.000Z"])]


class Answer(BaseModel):
    """A success body: exactly these keys (the schema says ``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


def answers(
    model: type[BaseModel], status: int = 200, description: str = "Successful Response"
) -> dict[int | str, dict[str, Any]]:
    """``{status: {"model", "description"}}`` for a route's ``responses=``: documents the body."""
    return {status: {"model": model, "description": description}}
