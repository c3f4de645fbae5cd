"""One flag key rule for the HTTP layer and the background passes over rows."""

from __future__ import annotations

from memory_system.flags import flag_key
from memory_system.memory.tiers.rules import _flag_key


def test_the_session_is_the_key_else_the_agent() -> None:
    assert flag_key("s-1", "a1") == "s-1"
    assert flag_key(None, "a1") == "agent:a1"
    assert flag_key("", "a1") == "agent:a1"  # an empty session is no session


def test_a_tier_pass_keys_a_row_as_the_request_that_wrote_it() -> None:
    """A session's rollout decides for its rows too: the same key lands in the same bucket."""
    assert _flag_key({"session_id": "s-1", "agent_id": "a1"}) == flag_key("s-1", "a1")
    assert _flag_key({"session_id": None, "agent_id": "a1"}) == flag_key(None, "a1")
