"""A read's scope as plain values: who is asking, and which of what they may see they asked for.

The service layer builds these and hands them to the store's read functions; only ``store/``
turns them into SQL (``visibility.visible_sql``, ``search.filter_sql``). Both are frozen, so
one value can be shared by the threads of a search (full text on the caller's, the dense
step on its own) without either changing what the other reads.

Usage::

    visibility = Visibility(agent_id="coder", namespace="acme", sharing_enabled=True)
    filters = Filters(kind="decision", created_after="2024-05-01T00:00:00.000Z")
    search.fulltext_search(conn, visibility, filters, ["deploy"], 10)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Filters", "Visibility"]


@dataclass(frozen=True, slots=True)
class Visibility:
    """Who is asking and what they may see: the agent, its namespace, and whether stored grants
    and namespace visibility count (``USE_CROSS_AGENT_SHARING``). ``now`` (ISO 8601 UTC) is the
    moment expiries are judged at; None means the time each query runs."""

    agent_id: str
    namespace: str
    sharing_enabled: bool
    now: str | None = None


@dataclass(frozen=True, slots=True)
class Filters:
    """A search's filters, already validated (``memory/retrieval/filters.py``); None matches any.

    Times are ISO 8601 UTC as stored: ``*_after`` is inclusive, ``*_before`` exclusive. A tier
    is left out by the caller while hierarchical tiers are off (one flat tier).
    """

    kind: str | None = None
    tier: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    occurred_after: str | None = None
    occurred_before: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    # (dotted path, string) pairs that must all match the memory's metadata (``memories.metadata_sql``).
    metadata: tuple[tuple[str, str], ...] = ()
