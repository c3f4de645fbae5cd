"""``GET /admin/shadow``: what raising ``USE_ENHANCED_INJECTION`` would cost, before raising it.

Shadow mode (``injection.shadow_sample``) builds the enhanced block in the background for a
sample of legacy answers (``memory/injection/shadow.py``); this route only reads its counts.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from memory_system.api.deps import get_runtime, require_admin
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.shadow import ShadowReport
from memory_system.runtime import Runtime

router = APIRouter(
    prefix="/admin/shadow",
    tags=["admin: shadow"],
    dependencies=[Depends(require_admin)],
    responses=responses(401, 403, 500, 503),
)


@router.get("", responses=answers(ShadowReport))
def show_shadow(runtime: Annotated[Runtime, Depends(get_runtime)]) -> dict[str, Any]:
    """Sample rate, runs and drops since start; enhanced and legacy p50/p95 and the mean
    overlap of the two answers over the last 1,000 runs (nulls before the first)."""
    return runtime.shadow.stats()
