"""Cross-agent sharing: an owner grants its memory to named agents or its whole namespace.

Sharing never crosses namespaces (the visibility predicate first pins the caller's
namespace). A grant may expire; revoking deletes it; every grant, revoke and hand-off is
kept in ``share_events``. Whether sharing is on (``USE_CROSS_AGENT_SHARING``) is decided by
the caller per request: this service does the work when asked; reads elsewhere pass
``sharing_enabled`` in a ``store.scope.Visibility``, which is what makes stored grants
count or not.

Example::

    sharing = SharingService(db, events)
    sharing.share(42, agent_id="planner", namespace="proj", grantees=["coder"])
    sharing.revoke(42, agent_id="planner", namespace="proj", grantees=["coder"])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memory_system.core.clock import format_utc, utc_now
from memory_system.core.errors import ServiceError
from memory_system.core.logging import log_event
from memory_system.core.validation import InvalidValue, check_agent_id
from memory_system.store import sharing as store
from memory_system.store.connection import Connection, Database
from memory_system.store.scope_versions import bump_scope

if TYPE_CHECKING:
    from memory_system.memory.records.events import MemoryEvents

__all__ = [
    "Grant",
    "InvalidShare",
    "MemoryNotOwned",
    "ShareEvent",
    "ShareNotFound",
    "SharingError",
    "SharingService",
    "agent_id_of",
    "parse_expiry",
    "sharing_off_message",
]

MAX_GRANTEES = 100
MAX_EVENTS_PAGE = 1_000
_log = logging.getLogger(__name__)


class SharingError(ServiceError, ValueError):
    """A sharing call that cannot be done as asked; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidShare(SharingError):
    """A grantee, expiry or page parameter is missing, malformed or pointless."""


class MemoryNotOwned(SharingError):
    """The memory does not exist or is not the caller's: the two look the same on purpose."""

    def __init__(self, memory_id: int, agent_id: str) -> None:
        super().__init__(
            "memory_id",
            f"no memory {memory_id} owned by agent {agent_id!r}; only the "
            "owner of a memory can share it or list its shares",
        )


class ShareNotFound(SharingError):
    """A revoke names a grant that does not exist."""


@dataclass(frozen=True)
class Grant:
    memory_id: int
    agent_id: str | None  # None: the whole namespace
    granted_by: str
    expires_at: str | None
    created_at: str
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "memory_id": self.memory_id,
            "agent_id": self.agent_id,
            "namespace": self.agent_id is None,
            "granted_by": self.granted_by,
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "active": self.active,
        }


@dataclass(frozen=True)
class ShareEvent:
    id: int
    action: str  # grant, revoke, handoff
    memory_id: int | None
    session_id: str | None
    agent_id: str | None  # the grantee (hand-off: the receiving agent); None: the namespace
    actor: str
    expires_at: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "memory_id": self.memory_id,
            "session_id": self.session_id,
            "agent_id": self.agent_id,
            "namespace": self.agent_id is None,
            "actor": self.actor,
            "expires_at": self.expires_at,
            "created_at": self.created_at,
        }


def parse_expiry(value: object, *, field: str = "expires_at", now: str | None = None) -> str | None:
    """An ISO 8601 time with a timezone, in the future, as the database writes times (UTC, ms, Z)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidShare(field, "must be an ISO 8601 time with a timezone, e.g. 2030-01-01T00:00:00Z")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise InvalidShare(field, f"{value!r} is not an ISO 8601 time; e.g. 2030-01-01T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise InvalidShare(field, f"{value!r} has no timezone; add 'Z' for UTC or an offset like +02:00")
    try:
        normalised = format_utc(parsed)
    except OverflowError:
        raise InvalidShare(field, f"{value!r} is outside the years 1 to 9999 once moved to UTC") from None
    if normalised <= (now or utc_now()):
        raise InvalidShare(field, f"{value!r} is not in the future; omit it for a grant that never expires")
    return normalised


def sharing_off_message(flag: str, action: str) -> str:
    """What every interface says when sharing is switched off for a call (HTTP 409, MCP tool error)."""
    return (
        f"cross-agent sharing is disabled ({flag} is off), so {action} is refused; existing shares "
        "are kept and apply again when an operator turns the flag on"
    )


def agent_id_of(value: object, field: str) -> str:
    """An agent id as tokens issue them (``core.validation.check_agent_id``)."""
    try:
        return check_agent_id(value, field)
    except InvalidValue as exc:
        raise InvalidShare(exc.field, exc.message) from None


def _check_grantees(grantees: Sequence[str]) -> list[str]:
    if isinstance(grantees, str) or not isinstance(grantees, Sequence):
        raise InvalidShare("agent_ids", "must be a list of agent ids")
    if len(grantees) > MAX_GRANTEES:
        raise InvalidShare("agent_ids", f"has {len(grantees)} items; the limit is {MAX_GRANTEES} per call")
    checked: list[str] = []
    for i, grantee in enumerate(grantees):
        checked.append(agent_id_of(grantee, f"agent_ids[{i}]"))
    return list(dict.fromkeys(checked))


def _targets(grantees: Sequence[str], whole_namespace: bool) -> list[str | None]:
    targets: list[str | None] = list(_check_grantees(grantees))
    if whole_namespace is True:
        targets.append(None)
    elif whole_namespace is not False:
        raise InvalidShare("namespace", "must be true or false")
    if not targets:
        raise InvalidShare("agent_ids", "name at least one agent in agent_ids, or set namespace: true")
    return targets


class SharingService:
    """Grants, revokes and the audit trail; hand-off of sessions is ``memory.sharing.handoff``."""

    def __init__(self, db: Database, events: MemoryEvents | None = None) -> None:
        self.db = db
        self.events = events

    def share(
        self,
        memory_id: int,
        *,
        agent_id: str,
        namespace: str,
        grantees: Sequence[str] = (),
        whole_namespace: bool = False,
        expires_at: object = None,
    ) -> list[Grant]:
        """Grant (or re-grant with the new expiry) and return all grants of the memory."""
        targets = _targets(grantees, whole_namespace)
        expiry = parse_expiry(expires_at)
        with self.db.write() as conn:
            visibility = self._owned(conn, memory_id, agent_id, namespace, targets)
            if visibility == "private" or (visibility == "namespace" and None in targets):
                # From now on grant rows alone decide, so a namespace grant's expiry holds even for a
                # memory created namespace-visible (the trigger on memories records that revoke).
                # Grants to named agents leave a namespace-visible memory so: a grant only adds.
                store.set_visibility(conn, memory_id, "shared")
            for grantee in targets:
                store.upsert_grant(conn, memory_id, namespace, grantee, agent_id, expiry)
                store.insert_event(
                    conn,
                    namespace=namespace,
                    action="grant",
                    actor=agent_id,
                    memory_id=memory_id,
                    grantee=grantee,
                    expires_at=expiry,
                )
            bump_scope(conn, namespace)
            grants = self._grants(conn, memory_id)
        log_event(
            _log,
            "memory_shared",
            memory_id=memory_id,
            namespace=namespace,
            actor=agent_id,
            grantees=len(targets),
            whole_namespace=None in targets,
            expires_at=expiry,
        )
        return grants

    def revoke(
        self,
        memory_id: int,
        *,
        agent_id: str,
        namespace: str,
        grantees: Sequence[str] = (),
        whole_namespace: bool = False,
    ) -> list[Grant]:
        """Remove the named grants (all must exist, or nothing changes); returns those left."""
        targets = _targets(grantees, whole_namespace)
        with self.db.write() as conn:
            visibility = self._owned(conn, memory_id, agent_id, namespace, targets)
            for grantee in targets:
                # A memory created with visibility 'namespace' is a namespace grant without a row.
                implicit = grantee is None and visibility == "namespace"
                if not store.delete_grant(conn, memory_id, grantee) and not implicit:
                    who = "the namespace" if grantee is None else f"agent {grantee!r}"
                    raise ShareNotFound(
                        "agent_ids" if grantee else "namespace",
                        f"memory {memory_id} is not shared with {who}; nothing revoked",
                    )
                if not implicit:  # else the trigger on memories.visibility records it, once
                    store.insert_event(
                        conn,
                        namespace=namespace,
                        action="revoke",
                        actor=agent_id,
                        memory_id=memory_id,
                        grantee=grantee,
                    )
            grants = self._grants(conn, memory_id)
            if None in targets and visibility == "namespace":
                store.set_visibility(conn, memory_id, "shared" if grants else "private")
            elif visibility == "shared" and not grants:
                store.set_visibility(conn, memory_id, "private")
            bump_scope(conn, namespace)
        log_event(
            _log,
            "memory_share_revoked",
            memory_id=memory_id,
            namespace=namespace,
            actor=agent_id,
            grantees=len(targets),
            whole_namespace=None in targets,
        )
        return grants

    def list_shares(self, memory_id: int, *, agent_id: str, namespace: str) -> list[Grant]:
        """Every stored grant of the owner's memory, expired ones marked ``active: false``."""
        conn = self.db.reader()
        self._owned(conn, memory_id, agent_id, namespace)
        return self._grants(conn, memory_id)

    def list_events(
        self,
        *,
        agent_id: str,
        namespace: str,
        memory_id: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[ShareEvent]:
        """The audit trail as this agent may read it, newest first; page with ``before_id``."""
        if not isinstance(limit, int) or not 1 <= limit <= MAX_EVENTS_PAGE:
            raise InvalidShare("limit", f"must be between 1 and {MAX_EVENTS_PAGE}")
        rows = store.list_events(
            self.db.reader(),
            namespace=namespace,
            agent_id=agent_id,
            memory_id=memory_id,
            before_id=before_id,
            limit=limit,
        )
        return [
            ShareEvent(
                r.id,
                r.action,
                r.memory_id,
                r.session_id,
                r.grantee_agent_id,
                r.actor,
                r.expires_at,
                r.created_at,
            )
            for r in rows
        ]

    def visible_until(self, memory_ids: Sequence[int], *, agent_id: str, namespace: str) -> str | None:
        """The earliest moment one of these memories stops being visible to the agent because a
        grant expires (None: none will). A cache of what the agent saw must end by then."""
        return store.visible_until(
            self.db.reader(), agent_id=agent_id, namespace=namespace, memory_ids=memory_ids, now=utc_now()
        )

    @staticmethod
    def _owned(
        conn: Connection, memory_id: int, agent_id: str, namespace: str, targets: Sequence[str | None] = ()
    ) -> str:
        """The memory's visibility, after checking that the caller owns it (and is no grantee)."""
        owner = store.memory_owner(conn, memory_id) if isinstance(memory_id, int) else None
        if owner is None or owner[0] != namespace or owner[1] != agent_id:
            raise MemoryNotOwned(memory_id, agent_id)
        if agent_id in targets:
            raise InvalidShare(
                f"agent_ids[{list(targets).index(agent_id)}]",
                f"{agent_id!r} is the owner; an agent always sees its own memories",
            )
        return owner[2]

    @staticmethod
    def _grants(conn: Connection, memory_id: int) -> list[Grant]:
        now = utc_now()
        return [
            Grant(
                g.memory_id,
                g.grantee_agent_id,
                g.granted_by,
                g.expires_at,
                g.created_at,
                g.expires_at is None or g.expires_at > now,
            )
            for g in store.list_grants(conn, memory_id)
        ]
