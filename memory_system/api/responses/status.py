"""Success body of ``GET /status.json``: the public status page, without internals."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["PublicIncident", "PublicStatus"]


class PublicIncident(Answer):
    title: str = Field(examples=["Memory search is slow"])
    severity: Literal["SEV1", "SEV2", "SEV3"]
    started_at: Time


class PublicStatus(Answer):
    mode: Literal["normal", "legacy", "degraded"] = Field(
        description="legacy: Phase 2-4 is rolled back (core memory only); degraded: a CRITICAL alert "
        "is firing, the embedding model did not load, or the database cannot be read"
    )
    message: str = Field(description="one sentence for people, fixed per mode")
    incidents: list[PublicIncident] = Field(description="the open incidents, newest first")
    updated_at: Time
