"""SQL for agent tokens. Only the sha256 of a token is stored; the token itself never is."""

from __future__ import annotations

from dataclasses import dataclass

from memory_system.core.clock import utc_now
from memory_system.store.connection import Connection


@dataclass(frozen=True)
class TokenRecord:
    token_hash: str
    agent_id: str
    namespace: str
    label: str | None
    created_at: str
    revoked_at: str | None

    @property
    def token_id(self) -> str:
        """A short public handle (the hash prefix) for listing and revoking."""
        return self.token_hash[:12]


_COLUMNS = "token_hash, agent_id, namespace, label, created_at, revoked_at"


def table_exists(conn: Connection) -> bool:
    """Whether the schema has ``agent_tokens`` (migrated far enough for tokens)."""
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agent_tokens'"
    return conn.execute(sql).fetchone() is not None


def insert(
    conn: Connection, token_hash: str, agent_id: str, namespace: str, label: str | None
) -> TokenRecord:
    conn.execute(
        "INSERT INTO agent_tokens (token_hash, agent_id, namespace, label) VALUES (?, ?, ?, ?)",
        (token_hash, agent_id, namespace, label),
    )
    found = find(conn, token_hash)
    assert found is not None
    return found


def find(conn: Connection, token_hash: str) -> TokenRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM agent_tokens WHERE token_hash = ?", (token_hash,)).fetchone()
    return None if row is None else TokenRecord(*row)


def find_active(conn: Connection, token_hash: str) -> TokenRecord | None:
    record = find(conn, token_hash)
    return record if record is not None and record.revoked_at is None else None


def list_all(conn: Connection, *, include_revoked: bool = True) -> list[TokenRecord]:
    where = "" if include_revoked else "WHERE revoked_at IS NULL"
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM agent_tokens {where} ORDER BY created_at, token_hash"
    ).fetchall()
    return [TokenRecord(*row) for row in rows]


def with_prefix(conn: Connection, prefix: str) -> list[TokenRecord]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM agent_tokens WHERE substr(token_hash, 1, ?) = ?", (len(prefix), prefix)
    ).fetchall()
    return [TokenRecord(*row) for row in rows]


def revoke(conn: Connection, token_hash: str) -> None:
    conn.execute(
        "UPDATE agent_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
        (utc_now(), token_hash),
    )
