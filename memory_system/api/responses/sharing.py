"""Success bodies of cross-agent sharing: a memory's grants and the audit trail."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["Grant", "ShareEvent", "ShareEvents", "Shares"]


class Grant(Answer):
    memory_id: int
    agent_id: str | None = Field(description="The grantee; null for the namespace-wide grant.")
    namespace: bool = Field(description="The grant is to the whole namespace.")
    granted_by: str
    expires_at: Time | None
    created_at: Time
    active: bool = Field(description="false once expired.")


class Shares(Answer):
    memory_id: int
    shares: list[Grant]


class ShareEvent(Answer):
    id: int
    action: Literal["grant", "revoke", "handoff"]
    memory_id: int | None
    session_id: str | None
    agent_id: str | None = Field(description="The grantee (hand-off: the receiver); null: the namespace.")
    namespace: bool
    actor: str
    expires_at: Time | None
    created_at: Time


class ShareEvents(Answer):
    events: list[ShareEvent] = Field(description="Newest first.")
    next_before_id: int | None = Field(description="before_id of the next page; null on the last one.")
