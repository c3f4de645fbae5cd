"""SQL of ``typed_store_events``: the audit trail of preference and code-pattern writes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from memory_system.store.connection import Connection

_COLS = (
    "id, namespace, store, action, outcome, agent_id, user_id, key, language, pattern_id, old_hash,"
    " new_hash, policy, created_at"
)


@dataclass(frozen=True)
class TypedStoreChange:
    """One row to record; ``policy`` is set when the write policy refused the change."""

    namespace: str
    store: str  # preference, code_pattern
    action: str  # create, update, delete
    agent_id: str
    key: str
    user_id: str | None = None
    language: str | None = None
    pattern_id: int | None = None
    old_hash: str | None = None
    new_hash: str | None = None
    policy: str | None = None


def record(conn: Connection, change: TypedStoreChange, now: str) -> int:
    """Insert the event in the caller's transaction (the one that makes, or refuses, the change)."""
    cur = conn.execute(
        f"INSERT INTO typed_store_events ({_COLS.removeprefix('id, ')}) VALUES "
        "(:namespace, :store, :action, :outcome, :agent_id, :user_id, :key, :language, :pattern_id,"
        " :old_hash, :new_hash, :policy, :now)",
        {**asdict(change), "outcome": "applied" if change.policy is None else "refused", "now": now},
    )
    return int(cur.lastrowid)


def list_events(
    conn: Connection,
    namespace: str,
    *,
    store: str | None = None,
    agent_id: str | None = None,
    user_id: str | None = None,
    key: str | None = None,
    pattern_id: int | None = None,
    before_id: int | None = None,
    limit: int,
) -> list[Any]:
    """Newest first, in one namespace; every filter given must match."""
    where = ["namespace = :ns"]
    params: dict[str, Any] = {"ns": namespace, "limit": limit}
    for column, value in (
        ("store", store),
        ("agent_id", agent_id),
        ("user_id", user_id),
        ("key", key),
        ("pattern_id", pattern_id),
    ):
        if value is not None:
            where.append(f"{column} = :{column}")
            params[column] = value
    if before_id is not None:
        where.append("id < :before_id")
        params["before_id"] = before_id
    return list(
        conn.execute(
            f"SELECT {_COLS} FROM typed_store_events WHERE {' AND '.join(where)}"
            " ORDER BY id DESC LIMIT :limit",
            params,
        )
    )
