"""``POST /v1/inject``: a ready-to-paste context block for the agent's next step.

Flags are evaluated for this request with the key every endpoint uses (``api/context``): the
``X-Session-Id`` header, else the body's ``session_id``, else ``agent:<agent id>``; so turning
``USE_ENHANCED_INJECTION`` off takes effect on the next call of every live session. The
session whose working memories the block may show is the body's ``session_id``, else the
header, as for ``POST /v1/memories``; another agent's session is a 404. Errors (``api/errors``):
422 with ``{"detail": {"error", "field", "message"}}``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import Field, StringConstraints

from memory_system.api.context import ContextDep
from memory_system.api.deps import get_runtime
from memory_system.api.error_body import responses
from memory_system.api.fields import NOT_BLANK, WHOLE, Body, TextId
from memory_system.api.responses import answers
from memory_system.api.responses.injection import Injection
from memory_system.memory.injection.injector import FORMATS, MAX_TOKEN_BUDGET, InjectionFlags
from memory_system.memory.retrieval.hybrid import MAX_QUERY_CHARS
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/v1", tags=["injection"], responses=responses(400, 401, 403, 404, 413, 422, 500, 503)
)

if TYPE_CHECKING:
    Format = str
else:  # the service's tuple, as an enum of the schema
    Format = Literal[FORMATS]


class InjectRequest(Body):
    query: Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_BLANK)] = (
        Field(description="The agent's current task or message; memories are chosen for it.")
    )
    session_id: TextId | None = None
    token_budget: Annotated[int, Field(ge=1, le=MAX_TOKEN_BUDGET), WHOLE] = 1000
    format: Format = "markdown"
    user_id: TextId | None = Field(default=None, description="Whose preferences go first in the block.")


@router.post("/inject", response_class=JSONResponse, responses=answers(Injection))
async def inject(
    body: InjectRequest,
    ctx: ContextDep,
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> JSONResponse:
    """Preferences, relevant memories by tier, code patterns and related entities, within
    ``token_budget`` (by the counter named in ``token_counter``), with the manifest of what
    was used, ``mode`` (enhanced, degraded, legacy), ``cache`` (hit, miss, bypass) and ``took_ms``."""
    runtime.sessions.check_usable(body.session_id, ctx.caller.agent_id, ctx.caller.namespace)
    flags = ctx.for_session(body.session_id).flags
    args: dict[str, Any] = {
        "agent_id": ctx.caller.agent_id,
        "namespace": ctx.caller.namespace,
        "query": body.query,
        "session_id": body.session_id or ctx.session_id,
        "token_budget": body.token_budget,
        "format": body.format,
        "user_id": body.user_id,
        "flags": InjectionFlags(enhanced=flags.enhanced, tiers=flags.tiers, sharing=flags.sharing),
    }
    injector = runtime.injector
    # A hit is answered here on the event loop (no blocking); a miss runs retrieval
    # on a worker thread so the loop keeps serving.
    # The key is read once (scope version: one SQLite query) for both the lookup and a miss.
    args["key"] = injector.cache_key(**args)
    result = injector.lookup(**args)
    if result is None:
        result = await run_in_threadpool(partial(injector.inject, **args))
    # Returned as is: the result is plain JSON already; FastAPI would re-encode it.
    return JSONResponse(result.to_dict())
