"""HTTP routes: typed stores — user preferences and code patterns of the caller's namespace.

Session state has its own routes (``api/session_state.py``); memory metadata is internal.
Errors are those of memories (``api/errors``): 404 ``not_found``, 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.memory.typed.code_patterns import MAX_SEARCH_LIMIT
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["typed stores"])

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Caller = Annotated[Identity, Depends(agent_identity)]
UserId = Annotated[str, Query(min_length=1, max_length=200, description="Whose preference.")]


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description="Any JSON value (up to 16 KiB).")


class CodePatternIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(description="python, typescript, c++, ... (stored lowercase)")
    name: str = Field(description="Identifies the pattern within its language; writing it again updates it.")
    description: str = ""
    example: str = ""


# --- user preferences ---------------------------------------------------------------------


@router.get("/preferences")
def list_preferences(user_id: UserId, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Every preference of the user in the caller's namespace, by key."""
    prefs = runtime.preferences.list(caller.namespace, user_id)
    return {"user_id": user_id, "preferences": [p.to_dict() for p in prefs]}


@router.get("/preferences/{key}")
def get_preference(key: str, user_id: UserId, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    return runtime.preferences.get(caller.namespace, user_id, key).to_dict()


@router.put("/preferences/{key}")
def put_preference(
    key: str, body: PreferenceIn, user_id: UserId, response: Response, runtime: RuntimeDep, caller: Caller
) -> dict[str, Any]:
    """Set the value: 201 when the key is new, 200 when it replaced the old value."""
    pref, created = runtime.preferences.put(caller.namespace, user_id, key, body.value)
    response.status_code = 201 if created else 200
    return pref.to_dict()


@router.delete("/preferences/{key}")
def delete_preference(key: str, user_id: UserId, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    runtime.preferences.delete(caller.namespace, user_id, key)
    return {"deleted": key, "user_id": user_id}


# --- code patterns ------------------------------------------------------------------------


@router.post("/code-patterns", status_code=201)
def put_code_pattern(
    body: CodePatternIn, response: Response, runtime: RuntimeDep, caller: Caller
) -> dict[str, Any]:
    """Store a pattern (201), or update the one of the same language and name (200)."""
    pattern, created = runtime.code_patterns.put(caller.namespace, caller.agent_id, body.model_dump())
    response.status_code = 201 if created else 200
    return pattern.to_dict()


@router.get("/code-patterns")
def list_code_patterns(
    runtime: RuntimeDep,
    caller: Caller,
    language: str | None = None,
    cursor: Annotated[int | None, Query(ge=1, description="next_cursor of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Patterns of the namespace, newest first."""
    found = runtime.code_patterns.list(caller.namespace, language=language, cursor=cursor, limit=limit + 1)
    page = found[:limit]
    return {
        "code_patterns": [p.to_dict() for p in page],
        "next_cursor": page[-1].id if len(found) > limit else None,
    }


@router.get("/code-patterns/search")
def search_code_patterns(
    runtime: RuntimeDep,
    caller: Caller,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="Words to look for.")],
    language: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 10,
) -> dict[str, Any]:
    """Full-text search (BM25) over name, description, example and language; best first."""
    found = runtime.code_patterns.search(caller.namespace, q, limit=limit, language=language)
    return {"query": q, "code_patterns": [p.to_dict() for p in found]}


@router.get("/code-patterns/{pattern_id}")
def get_code_pattern(pattern_id: int, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    return runtime.code_patterns.get(caller.namespace, pattern_id).to_dict()


@router.delete("/code-patterns/{pattern_id}")
def delete_code_pattern(pattern_id: int, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    runtime.code_patterns.delete(caller.namespace, pattern_id)
    return {"deleted": pattern_id}
