"""Success body of ``GET /admin/overview``: the operations dashboard's live numbers, read from
the alert engine's window (so they are what the alerts judge) plus the embedding backlog."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["FiringAlert", "Overview"]

_BEFORE_FIRST = "Absent before the alert engine's first evaluation."


class FiringAlert(Answer):
    rule: str = Field(examples=["memory_critical"])
    severity: Literal["CRITICAL", "WARNING"]
    since: Time | None


class Overview(Answer):
    enabled: bool = Field(True, description='false: the "alerts" section switched evaluation off')
    evaluated_at: Time | None = Field(description="the alert engine's last evaluation; null before the first")
    window_seconds: float = Field(description="quantiles and per-minute rates count over this window")
    injection_p50_ms: float | None = Field(None, description="null: no injection in the window")
    injection_p95_ms: float | None = Field(None, description="null: no injection in the window")
    injections_per_min: float = Field(0.0, description=_BEFORE_FIRST)
    injections_total: float = Field(0.0, description="since the process started")
    injection_errors_per_min: float = Field(0.0, description="5xx answers of POST /v1/inject")
    rag_timeouts_per_min: float = 0.0
    cache_hit_rate: float | None = Field(None, description="null: no cache lookup in the window")
    cache_lookups: float = 0.0
    resident_bytes: float = Field(0.0, description=_BEFORE_FIRST)
    memory_limit_bytes: float = Field(0.0, description="what the memory alerts compare resident bytes with")
    embedding_backlog: int = Field(description="memories waiting for their vector (0 without an embedder)")
    firing: list[FiringAlert]
