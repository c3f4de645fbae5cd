"""Success bodies of ``/v1/sessions``: a session, its state, a hand-off."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["Handoff", "Session", "SessionState"]


class Session(Answer):
    session_id: str
    agent_id: str
    namespace: str
    created_at: Time
    last_active_at: Time
    ended_at: Time | None
    flags: dict[str, bool] = Field(description="Each flag by name as this session's requests see it now.")


class SessionState(Answer):
    session_id: str
    state: dict[str, Any]
    version: int = Field(description="0 for a session without state; send it back to replace it.")
    updated_at: Time | None


class Handoff(Answer):
    handoff_id: int
    session_id: str = Field(description="The session handed off (now ended).")
    new_session_id: str = Field(description="The receiver's new session.")
    from_agent_id: str
    to_agent_id: str
    memories_moved: int
    memories_merged: int
    state_version: int
