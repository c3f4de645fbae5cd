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


SchemaState = Literal["current", "legacy", "ahead", "behind", "damaged", "unknown"]


class Readiness(Answer):
    status: Literal["ready", "not_ready"] = Field(description="ready with a 200; the 503 says not_ready.")
    version: str
    # Always sent; optional in the contract because builds before 0.2.0 do not say (the client reads both).
    commit: str | None = Field(
        None, description='The git commit of the running build; "unknown" when none can be read.'
    )
    schema_version: int | None = Field(description="null when the database does not answer.")
    expected_schema_version: int
    schema_: SchemaState = Field(
        alias="schema",
        description="legacy: 004 and 005 (Phase 2-4) rolled back, the rest applied (still ready); "
        "damaged: a table the "
        "version promises is missing, or an applied migration's text changed; unknown when the "
        "database does not answer.",
    )
    mode: str | None = Field(
        None,
        description='"full", "legacy (Phase 2-4 rolled back)", or "unknown" when the database '
        "does not answer.",
    )
    database: str = Field(description='"ok", or why the database does not answer.')
    config: ReadinessConfig
    draining: bool
    schema_note: str | None = Field(None, description='Present when schema is "ahead" or "legacy".')
    problems: list[str] = Field([], description='What is damaged: present only when schema is "damaged".')
    vectors: str | None = Field(None, description="Present once retrieval runs: current, stale or none.")
    reasons: list[str] = Field([], description="Why not ready: present only in the 503 body.")


class DeepHealth(Answer):
    status: Literal["pass", "fail"] = Field(description="pass with a 200; the 503 says fail.")
    version: str
    commit: str = Field(description='The git commit of the running build; "unknown" when none can be read.')
    checks: dict[str, str] = Field(
        description='By check: "ok", "not configured", "not started", or what failed.'
    )
    details: dict[str, dict[str, Any]] = Field(description="By check: what it saw, and duration_ms.")
    draining: bool
