"""HTTP routes for operators: feature flags per source, changes, the audit trail, rollout stats.

``POST /admin/feature-flags`` takes the runbook's body, ``{"USE_ENHANCED_INJECTION": false}``
or ``0.01``, several flags at once; every name and value is checked before anything is
written, so a bad request changes nothing (422 ``invalid_feature_flag``, from ``api/errors``).
Changes land in the database, so every process of the service applies them within a second.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.fields import NOT_BLANK, WHITESPACE
from memory_system.api.responses import answers
from memory_system.api.responses.flags import FlagChanges, FlagEvents, FlagSnapshot, FlagStats
from memory_system.flags.names import FLAG_NAMES
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/admin/feature-flags",
    tags=["admin: feature flags"],
    dependencies=[Depends(require_admin)],
    responses=responses(401, 403, 500, 503),
)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

if TYPE_CHECKING:
    FlagName = str
else:  # the flags' names, as an enum of the schema
    FlagName = Literal[FLAG_NAMES]

_EXAMPLE = {"USE_ENHANCED_INJECTION": False, "USE_HIERARCHICAL_TIERS": 0.01}
# What flags.values.parse_value reads from a string (after strip and lower): true, false, or
# a fraction in [0, 1] written as a decimal.
_BLANKS = f"[{WHITESPACE}]*"
_VALUE_TEXT = (
    rf"^{_BLANKS}([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|0+(\.[0-9]*)?|\.[0-9]+|0*1(\.0*)?){_BLANKS}$"
)
_VALUE = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "number", "minimum": 0, "maximum": 1},
        {"type": "string", "pattern": _VALUE_TEXT},
    ]
}


@router.get("", responses=answers(FlagSnapshot))
def show_flags(runtime: RuntimeDep) -> dict[str, Any]:
    """Each flag's value in each source (env, config_file, database) and the effective value."""
    return runtime.flags.snapshot()


@router.post(
    "",
    responses={**answers(FlagChanges), **responses(400, 413, 422)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "minProperties": 1,
                        "properties": {name: _VALUE for name in FLAG_NAMES},
                        "additionalProperties": False,
                    },
                    "example": _EXAMPLE,
                }
            },
        }
    },
)
async def set_flags(
    request: Request,
    runtime: RuntimeDep,
    x_actor: Annotated[
        str | None,
        StringConstraints(max_length=200, pattern=NOT_BLANK),
        Header(description="Who makes the change, for the audit trail; default admin."),
    ] = None,
) -> dict[str, Any]:
    """Set database values: ``true``, ``false`` or a fraction in [0, 1]; all or nothing.

    The body is read as JSON whatever its Content-Type, so the runbook's plain
    ``curl -d '{"USE_ENHANCED_INJECTION": false}'`` works.
    """
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(
            422,
            detail={
                "error": "invalid_json",
                "field": None,
                "message": f"body is not valid JSON: {exc}; send an object like {json.dumps(_EXAMPLE)}",
            },
        ) from None
    if not isinstance(body, dict):
        raise HTTPException(
            422,
            detail={
                "error": "invalid_feature_flag",
                "field": None,
                "message": f"body must be a JSON object like {json.dumps(_EXAMPLE)}",
            },
        )
    changes = await run_in_threadpool(runtime.flags.set_many, body, actor=x_actor or "admin", source="api")
    snapshot = await run_in_threadpool(runtime.flags.snapshot)
    return {"changes": [c.to_dict() for c in changes], "flags": snapshot["flags"]}


@router.get("/events", responses={**answers(FlagEvents), **responses(422)})
def flag_events(
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    flag: Annotated[FlagName | None, Query(description="Only this flag.")] = None,
) -> dict[str, Any]:
    """Every change, newest first: flag, old and new value, source, actor, time."""
    return {"events": runtime.flags.events(limit, flag)}


@router.get("/stats", responses={**answers(FlagStats), **responses(422)})
def flag_stats(
    runtime: RuntimeDep,
    window_minutes: Annotated[
        float | None,
        Query(
            gt=0, le=30 * 24 * 60, allow_inf_nan=False, description="A session seen within this is active."
        ),
    ] = None,
) -> dict[str, Any]:
    """Per flag: active sessions, how many have it on now, % enabled, time since its last change."""
    window_s = None if window_minutes is None else window_minutes * 60
    return runtime.flags.stats(window_s)
