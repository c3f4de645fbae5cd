"""Success bodies of the health probes (``ops/health``); a 503 is an ``ErrorBody`` with the report."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["DeepHealth", "Live", "Readiness", "ReadinessConfig"]


class Live(Answer):
    status: Literal["ok"]


class ReadinessConfig(Answer):
    loaded_at: Time | None
    last_reload_error: str | None


class Readiness(Answer):
    status: Literal["ready", "not_ready"] = Field(description="ready with a 200; the 503 says not_ready.")
    version: str
    schema_version: int | None = Field(description="null when the database does not answer.")
    expected_schema_version: int
    schema_: Literal["current", "ahead", "behind", "unknown"] = Field(
        alias="schema", description="unknown when the database does not answer."
    )
    database: str = Field(description='"ok", or why the database does not answer.')
    config: ReadinessConfig
    draining: bool
    schema_note: str | None = Field(None, description='Present when schema is "ahead".')
    vectors: str | None = Field(None, description="Present once retrieval runs: current, stale or none.")
    reasons: list[str] = Field([], description="Why not ready: present only in the 503 body.")


class DeepHealth(Answer):
    status: Literal["pass", "fail"] = Field(description="pass with a 200; the 503 says fail.")
    version: str
    checks: dict[str, str] = Field(
        description='By check: "ok", "not configured", "not started", or what failed.'
    )
    details: dict[str, dict[str, Any]] = Field(description="By check: what it saw, and duration_ms.")
    draining: bool
