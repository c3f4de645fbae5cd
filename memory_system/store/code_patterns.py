"""SQL of ``code_patterns`` and its FTS5 index (kept in step by triggers)."""

from __future__ import annotations

from typing import Any

from memory_system.store.connection import Connection

_COLS = (
    "p.id, p.namespace, p.agent_id, p.language, p.name, p.description, p.example, p.created_at, p.updated_at,"
    " p.created_by, p.updated_by"
)
# bm25 weights, in the FTS column order name, description, example, language.
_WEIGHTS = "4.0, 2.0, 1.0, 2.0"


def get(conn: Connection, namespace: str, pattern_id: int) -> Any:
    return conn.execute(
        f"SELECT {_COLS} FROM code_patterns p WHERE p.namespace = ? AND p.id = ?", (namespace, pattern_id)
    ).fetchone()


def find(conn: Connection, namespace: str, language: str, name: str) -> Any:
    """The pattern of that (language, name) in the namespace, or None."""
    return conn.execute(
        f"SELECT {_COLS} FROM code_patterns p WHERE p.namespace = ? AND p.language = ? AND p.name = ?",
        (namespace, language, name),
    ).fetchone()


def upsert(
    conn: Connection,
    namespace: str,
    agent_id: str,
    language: str,
    name: str,
    description: str,
    example: str,
    now: str,
) -> tuple[int, bool]:
    """(id, created): a pattern is identified by (namespace, language, name); writing it again updates
    it. ``agent_id`` (also ``updated_by``) is the last writer; ``created_by`` is set on insert only."""
    row = find(conn, namespace, language, name)
    if row is not None:
        conn.execute(
            "UPDATE code_patterns SET description = ?, example = ?, agent_id = ?, updated_by = ?,"
            " updated_at = ? WHERE id = ?",
            (description, example, agent_id, agent_id, now, row["id"]),
        )
        return int(row["id"]), False
    cur = conn.execute(
        "INSERT INTO code_patterns (namespace, agent_id, language, name, description, example, created_at,"
        " updated_at, created_by, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (namespace, agent_id, language, name, description, example, now, now, agent_id, agent_id),
    )
    return int(cur.lastrowid), True


def delete(conn: Connection, namespace: str, pattern_id: int) -> bool:
    return bool(
        conn.execute(
            "DELETE FROM code_patterns WHERE namespace = ? AND id = ?", (namespace, pattern_id)
        ).rowcount
    )


def list_patterns(
    conn: Connection, namespace: str, *, language: str | None, before_id: int | None, limit: int
) -> list[Any]:
    clauses = ["p.namespace = :ns"]
    args: dict[str, Any] = {"ns": namespace, "limit": limit}
    if language is not None:
        clauses.append("p.language = :language")
        args["language"] = language
    if before_id is not None:
        clauses.append("p.id < :before")
        args["before"] = before_id
    return list(
        conn.execute(
            f"SELECT {_COLS} FROM code_patterns p WHERE {' AND '.join(clauses)} "
            "ORDER BY p.id DESC LIMIT :limit",
            args,
        )
    )


def search(conn: Connection, namespace: str, match: str, *, language: str | None, limit: int) -> list[Any]:
    """``match`` is an FTS5 query the caller built from quoted terms; best first, with ``score``."""
    language_clause = "AND p.language = :language" if language is not None else ""
    return list(
        conn.execute(
            f"SELECT {_COLS}, -bm25(code_patterns_fts, {_WEIGHTS}) AS score"
            " FROM code_patterns_fts JOIN code_patterns p ON p.id = code_patterns_fts.rowid"
            f" WHERE code_patterns_fts MATCH :match AND p.namespace = :ns {language_clause}"
            f" ORDER BY bm25(code_patterns_fts, {_WEIGHTS}) LIMIT :limit",
            {"match": match, "ns": namespace, "language": language, "limit": limit},
        )
    )
