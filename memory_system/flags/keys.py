"""The key a flag is evaluated for: one rule for every caller, so that one request, the HTTP
layer and the background passes over its rows all land in the same rollout bucket."""

from __future__ import annotations

__all__ = ["flag_key"]


def flag_key(session_id: str | None, agent_id: str) -> str:
    """The session when there is one (each session sticks to its bucket), else
    ``agent:<agent id>`` for calls and rows without a session; an empty session is none."""
    return session_id if session_id else f"agent:{agent_id}"
