"""Which memories an agent may see: the one SQL predicate every read path uses.

Search, list, get and injection all filter with this, so that no route can show an
agent another agent's private memory. With sharing off (``USE_CROSS_AGENT_SHARING``)
an agent sees only its own memories; stored grants are kept but ignored.

With sharing on, an agent of the namespace also sees a memory created with visibility
``namespace`` and one with a live grant (``memory_shares``) to it or to the whole namespace.
A revoked grant is a deleted row; an expired one stays stored (the owner lists it as
inactive) and stops counting at ``expires_at``. Never across namespaces: the memory's
namespace is pinned first, whatever a grant row says.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from memory_system.core.clock import utc_now
from memory_system.store.scope import Visibility


def visible_sql(alias: str, visibility: Visibility) -> tuple[str, dict[str, Any]]:
    """A WHERE fragment over ``memories AS alias`` and its named parameters (prefixed ``vis_``).

    Store-internal: read functions take a ``Visibility`` and call this themselves.
    """
    params: dict[str, Any] = {
        "vis_ns": visibility.namespace,
        "vis_agent": visibility.agent_id,
        "vis_now": visibility.now or utc_now(),
    }
    return _predicate(alias, visibility.sharing_enabled), params


@cache  # two texts per alias: a search builds the predicate on every read it makes
def _predicate(alias: str, sharing_enabled: bool) -> str:
    live = f"({alias}.expires_at IS NULL OR {alias}.expires_at > :vis_now)"
    if not sharing_enabled:
        return f"({alias}.namespace = :vis_ns AND {alias}.agent_id = :vis_agent AND {live})"
    shared = (
        f"EXISTS (SELECT 1 FROM memory_shares s WHERE s.memory_id = {alias}.id"
        " AND (s.grantee_agent_id = :vis_agent OR s.grantee_agent_id IS NULL)"
        " AND (s.expires_at IS NULL OR s.expires_at > :vis_now))"
    )
    return (
        f"({alias}.namespace = :vis_ns AND {live} AND ({alias}.agent_id = :vis_agent"
        f" OR {alias}.visibility = 'namespace' OR {shared}))"
    )
