"""Success body of ``GET /admin/shadow``: what shadow mode measured of the enhanced path."""

from __future__ import annotations

from pydantic import Field

from memory_system.api.responses import Answer

__all__ = ["ShadowReport"]

_NULL = "; null before the first run"


class ShadowReport(Answer):
    sample_rate: float = Field(
        ge=0, le=1, description="the share of legacy answers also built enhanced (injection.shadow_sample)"
    )
    runs: int = Field(ge=0, description="shadow runs since the process started")
    dropped: int = Field(ge=0, description="samples dropped because the shadow queue was full")
    enhanced_p50_ms: float | None = Field(
        description="median enhanced build, over the last 1,000 runs" + _NULL
    )
    enhanced_p95_ms: float | None = Field(description="p95 enhanced build, over the last 1,000 runs" + _NULL)
    legacy_p50_ms: float | None = Field(description="median legacy answer of the same requests" + _NULL)
    legacy_p95_ms: float | None = Field(description="p95 legacy answer of the same requests" + _NULL)
    mean_overlap: float | None = Field(
        ge=0, le=1, description="mean Jaccard of the memory ids of the two answers (1: the same)" + _NULL
    )
