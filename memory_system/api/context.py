"""What an agent's request carries besides its body: who calls, its flag key, and its flags.

The flag key is the session, else ``agent:<agent id>`` (``flags.keys.flag_key``). The session
is the ``X-Session-Id`` header; a route that names a session of its own (the body's
``session_id`` of ``/v1/inject``, the path's of a hand-off) asks ``for_session``, and the header
still wins when both are given, so every endpoint evaluates one request alike.

The flags are read together on first use (about 3 us a flag) and kept for the rest of the
request: one request sees one value of each flag even while an operator changes it, and routes
that read none pay nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request

from memory_system.api.deps import Identity, agent_identity, get_runtime
from memory_system.flags import keys
from memory_system.flags.names import USE_CROSS_AGENT_SHARING, USE_ENHANCED_INJECTION, USE_HIERARCHICAL_TIERS
from memory_system.flags.service import FlagService
from memory_system.runtime import Runtime

__all__ = ["Context", "ContextDep", "RequestFlags", "request_context"]


@dataclass(frozen=True)
class RequestFlags:
    """The phase switches as one request sees them."""

    tiers: bool
    sharing: bool
    enhanced: bool


class Context:
    """One request of an agent: ``caller``, ``session_id`` (the header), ``flag_key``, ``flags``.

    Routes take it as a dependency::

        @router.get("/v1/memories")
        def list_memories(ctx: ContextDep) -> ...:
            if ctx.flags.tiers: ...
    """

    def __init__(
        self, flags: FlagService, caller: Identity, session_id: str | None, named_session: str | None = None
    ) -> None:
        self.caller = caller
        self.session_id = session_id
        self.flag_key = keys.flag_key(session_id or named_session, caller.agent_id)
        self._flags = flags

    def for_session(self, session_id: str | None) -> Context:
        """This request keyed by a session the route names (body or path); the header wins."""
        return Context(self._flags, self.caller, self.session_id, session_id)

    @cached_property
    def flags(self) -> RequestFlags:
        return RequestFlags(
            tiers=self._flags.enabled(USE_HIERARCHICAL_TIERS, self.flag_key),
            sharing=self._flags.enabled(USE_CROSS_AGENT_SHARING, self.flag_key),
            enhanced=self._flags.enabled(USE_ENHANCED_INJECTION, self.flag_key),
        )

    def session_flags(self, session_id: str) -> dict[str, bool]:
        """Every flag by name as requests of ``session_id`` see them now (a session's own record)."""
        return self._flags.evaluate_all(session_id)


async def request_context(
    request: Request,
    runtime: Annotated[Runtime, Depends(get_runtime)],
    caller: Annotated[Identity, Depends(agent_identity)],
) -> Context:
    return Context(runtime.flags, caller, request.headers.get("x-session-id"))


ContextDep = Annotated[Context, Depends(request_context)]
