"""HTTP routes: typed stores — user preferences and code patterns of the caller's namespace.

Every agent of the namespace reads both; who may write is the config file's ``typedStores``
policy (``memory/typed/policy``): a write it refuses is a 403 ``write_refused`` naming the
policy (and the key's creator), and changes nothing. Every write, applied or refused, is in
the audit trail: per key (``.../history``) or the namespace's (``/v1/typed-stores/events``),
paged like the sharing trail (``before_id``, ``next_before_id``).

Session state has its own routes (``api/session_state.py``); memory metadata is internal.
Other errors are those of memories (``api/errors``): 404 ``not_found``, 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field, StringConstraints

from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.api.error_body import responses
from memory_system.api.fields import NOT_BLANK, WHITESPACE, Body, RowIdPath, TextId
from memory_system.api.responses import answers
from memory_system.api.responses.typed_stores import (
    CodePattern,
    CodePatternDeleted,
    CodePatternHistory,
    CodePatternPage,
    CodePatternSearch,
    Preference,
    PreferenceDeleted,
    PreferenceHistory,
    PreferenceList,
    TypedStoreEvents,
)
from memory_system.core.validation import INT64_MAX
from memory_system.memory.typed.audit import MAX_EVENTS_PAGE, TypedStoreEvent
from memory_system.memory.typed.code_patterns import (
    LANGUAGE_PATTERN,
    MAX_DESCRIPTION_BYTES,
    MAX_EXAMPLE_BYTES,
    MAX_NAME_BYTES,
    MAX_PAGE,
    MAX_SEARCH_LIMIT,
)
from memory_system.memory.typed.preferences import KEY_PATTERN
from memory_system.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["typed stores"], responses=responses(401, 403, 404, 422, 500, 503))
WITH_BODY = responses(400, 413)

RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Caller = Annotated[Identity, Depends(agent_identity)]
UserId = Annotated[TextId, Query(description="Whose preference.")]
BeforeId = Annotated[int | None, Query(ge=1, le=INT64_MAX, description="next_before_id of the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)]
Key = Annotated[str, Path(pattern=KEY_PATTERN)]
# The service strips and lowercases a language before it checks LANGUAGE_PATTERN.
_AROUND = f"[{WHITESPACE}]*"
Language = Annotated[
    str, StringConstraints(pattern=f"^{_AROUND}{LANGUAGE_PATTERN[1:-1].replace('a-z', 'A-Za-z')}{_AROUND}$")
]


class PreferenceIn(Body):
    value: Any = Field(description="Any JSON value (up to 16 KiB).")


class CodePatternIn(Body):
    language: Language = Field(description="python, typescript, c++, ... (stored lowercase)")
    name: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_BYTES, pattern=NOT_BLANK)] = (
        Field(
            description=f"Up to {MAX_NAME_BYTES} bytes of UTF-8; identifies the pattern within its language, "
            "writing it again updates it."
        )
    )
    description: Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION_BYTES)] = Field(
        "", description=f"Up to {MAX_DESCRIPTION_BYTES} bytes of UTF-8."
    )
    example: Annotated[str, StringConstraints(max_length=MAX_EXAMPLE_BYTES)] = Field(
        "", description=f"Up to {MAX_EXAMPLE_BYTES} bytes of UTF-8."
    )


# --- user preferences ---------------------------------------------------------------------


@router.get("/preferences", responses=answers(PreferenceList))
def list_preferences(user_id: UserId, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    """Every preference of the user in the caller's namespace, by key."""
    prefs = runtime.preferences.list(caller.namespace, user_id)
    return {"user_id": user_id, "preferences": [p.to_dict() for p in prefs]}


@router.get("/preferences/{key}", responses=answers(Preference))
def get_preference(key: Key, user_id: UserId, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    return runtime.preferences.get(caller.namespace, user_id, key).to_dict()


@router.put(
    "/preferences/{key}",
    responses={
        **answers(Preference, 200, "Replaced the value."),
        **answers(Preference, 201, "The key is new."),
        **WITH_BODY,
    },
)
def put_preference(
    key: Key, body: PreferenceIn, user_id: UserId, response: Response, runtime: RuntimeDep, caller: Caller
) -> dict[str, Any]:
    """Set the value: 201 when the key is new, 200 when it replaced the old value."""
    pref, created = runtime.preferences.put(
        caller.namespace, user_id, key, body.value, agent_id=caller.agent_id
    )
    response.status_code = 201 if created else 200
    return pref.to_dict()


@router.delete("/preferences/{key}", responses=answers(PreferenceDeleted))
def delete_preference(key: Key, user_id: UserId, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    runtime.preferences.delete(caller.namespace, user_id, key, agent_id=caller.agent_id)
    return {"deleted": key, "user_id": user_id}


@router.get("/preferences/{key}/history", responses=answers(PreferenceHistory))
def preference_history(
    key: Key,
    user_id: UserId,
    runtime: RuntimeDep,
    caller: Caller,
    before_id: BeforeId = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every recorded write of the key, with the agent that made it, newest first."""
    found = runtime.preferences.history(caller.namespace, user_id, key, before_id=before_id, limit=limit)
    return _events(found, limit)


# --- code patterns ------------------------------------------------------------------------


@router.post(
    "/code-patterns",
    status_code=201,
    responses={
        **answers(CodePattern, 201, "Stored."),
        **answers(CodePattern, 200, "Updated the pattern of the same language and name."),
        **WITH_BODY,
    },
)
def put_code_pattern(
    body: CodePatternIn, response: Response, runtime: RuntimeDep, caller: Caller
) -> dict[str, Any]:
    """Store a pattern (201), or update the one of the same language and name (200)."""
    pattern, created = runtime.code_patterns.put(caller.namespace, caller.agent_id, body.model_dump())
    response.status_code = 201 if created else 200
    return pattern.to_dict()


@router.get("/code-patterns", responses=answers(CodePatternPage))
def list_code_patterns(
    runtime: RuntimeDep,
    caller: Caller,
    language: Language | None = None,
    cursor: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="next_cursor of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Patterns of the namespace, newest first."""
    # One more than the page tells whether another follows, where the service's cap allows;
    # a full page of the largest size always offers a next cursor (its page may be empty).
    found = runtime.code_patterns.list(
        caller.namespace, language=language, cursor=cursor, limit=min(limit + 1, MAX_PAGE)
    )
    page = found[:limit]
    more = len(found) > limit or len(page) == MAX_PAGE
    return {"code_patterns": [p.to_dict() for p in page], "next_cursor": page[-1].id if more else None}


@router.get("/code-patterns/search", responses=answers(CodePatternSearch))
def search_code_patterns(
    runtime: RuntimeDep,
    caller: Caller,
    q: Annotated[
        str, Query(min_length=1, max_length=1000, pattern=NOT_BLANK, description="Words to look for.")
    ],
    language: Language | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 10,
) -> dict[str, Any]:
    """Full-text search (BM25) over name, description, example and language; best first."""
    found = runtime.code_patterns.search(caller.namespace, q, limit=limit, language=language)
    return {"query": q, "code_patterns": [p.to_dict() for p in found]}


@router.get("/code-patterns/{pattern_id:int}", responses=answers(CodePattern))
def get_code_pattern(pattern_id: RowIdPath, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    return runtime.code_patterns.get(caller.namespace, pattern_id).to_dict()


@router.delete("/code-patterns/{pattern_id:int}", responses=answers(CodePatternDeleted))
def delete_code_pattern(pattern_id: RowIdPath, runtime: RuntimeDep, caller: Caller) -> dict[str, Any]:
    runtime.code_patterns.delete(caller.namespace, pattern_id, agent_id=caller.agent_id)
    return {"deleted": pattern_id}


@router.get("/code-patterns/{pattern_id:int}/history", responses=answers(CodePatternHistory))
def code_pattern_history(
    pattern_id: RowIdPath, runtime: RuntimeDep, caller: Caller, before_id: BeforeId = None, limit: Limit = 100
) -> dict[str, Any]:
    """Every recorded write of the pattern, with the agent that made it, newest first."""
    found = runtime.code_patterns.history(caller.namespace, pattern_id, before_id=before_id, limit=limit)
    return _events(found, limit)


# --- the audit trail of both ----------------------------------------------------------------


@router.get("/typed-stores/events", responses=answers(TypedStoreEvents))
def typed_store_events(
    runtime: RuntimeDep,
    caller: Caller,
    store: Annotated[
        Literal["preference", "code_pattern"] | None, Query(description="one store only")
    ] = None,
    agent_id: Annotated[str | None, Query(max_length=128, description="changes by this agent only")] = None,
    before_id: BeforeId = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """The namespace's trail of preference and code-pattern writes, newest first."""
    found = runtime.typed_store_audit.events(
        caller.namespace, store=store, agent_id=agent_id, before_id=before_id, limit=limit
    )
    return _events(found, limit)


def _events(found: list[TypedStoreEvent], limit: int) -> dict[str, Any]:
    return {
        "events": [e.to_dict() for e in found],
        "next_before_id": found[-1].id if len(found) == limit else None,
    }
