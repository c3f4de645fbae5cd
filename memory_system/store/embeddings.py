"""SQL of the dense half: stored vectors, what still needs one, the recorded model, sqlite-vec.

Vectors are float32 little-endian blobs (sqlite-vec's layout), one per memory in
``memory_embeddings``; online re-embedding stages the new ones in ``memory_embeddings_next``
and swaps them in with one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from memory_system.store.connection import Connection
from memory_system.store.scope import Filters, Visibility
from memory_system.store.search import scope_sql

MODEL_KEY = "embedding_model"
DIM_KEY = "embedding_dim"
GENERATION_KEY = "embedding_generation"  # bumped by a swap: other processes reload their index

_TABLES = ("memory_embeddings", "memory_embeddings_next")
_vec_lock = threading.Lock()


def load_sqlite_vec(conn: Connection) -> bool:
    """Load sqlite-vec into this connection unless it has it; False where SQLite cannot load extensions."""
    try:
        conn.execute("SELECT vec_version()").fetchone()
        return True
    except Exception:  # noqa: BLE001 - "no such function": not loaded on this connection yet
        pass
    with _vec_lock:
        try:
            import sqlite_vec  # type: ignore[import-untyped]

            conn.enable_load_extension(True)
            sqlite_vec.load(conn)
            conn.enable_load_extension(False)
        except Exception:  # noqa: BLE001 - stdlib sqlite3 without extension loading, or no wheel
            return False
        return True


def rows_to_embed(conn: Connection, ids: Sequence[int]) -> list[Any]:
    """The memories (still existing) behind ``ids``, with what their embedding text needs."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return list(
        conn.execute(
            "SELECT id, namespace, agent_id, session_id, content, metadata, occurred_at"
            f" FROM memories WHERE id IN ({marks}) ORDER BY id",
            list(ids),
        )
    )


def previous_in_session(
    conn: Connection, namespace: str, agent_id: str, session_id: str, before_id: int, count: int
) -> list[Any]:
    """The ``count`` memories written just before ``before_id`` in the same session, oldest first."""
    rows = conn.execute(
        "SELECT id, content, metadata FROM memories WHERE namespace = ? AND agent_id = ?"
        " AND session_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (namespace, agent_id, session_id, before_id, count),
    ).fetchall()
    return list(reversed(rows))


def missing_after(conn: Connection, after_id: int, limit: int) -> list[int]:
    """Ids above ``after_id`` that have no vector yet (the worker's cheap periodic check)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT m.id FROM memories m WHERE m.id > ? AND NOT EXISTS"
            " (SELECT 1 FROM memory_embeddings e WHERE e.memory_id = m.id) ORDER BY m.id LIMIT ?",
            (after_id, limit),
        )
    ]


def max_memory_id(conn: Connection) -> int:
    """The highest memory id now: a later commit always gets a higher one (AUTOINCREMENT)."""
    row = conn.execute("SELECT max(id) FROM memories").fetchone()
    return int(row[0] or 0)


def count_missing(conn: Connection) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM memories m WHERE NOT EXISTS"
            " (SELECT 1 FROM memory_embeddings e WHERE e.memory_id = m.id)"
        ).fetchone()[0]
    )


def count_vectors(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM memory_embeddings").fetchone()[0])


def all_ids(conn: Connection, after_id: int, limit: int) -> list[int]:
    return [
        r[0]
        for r in conn.execute("SELECT id FROM memories WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit))
    ]


def count_memories(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM memories").fetchone()[0])


def write_vectors(
    conn: Connection, rows: Sequence[tuple[int, str, bytes]], model: str, dim: int, *, staging: bool = False
) -> None:
    """Upsert (memory_id, namespace, blob) rows; a memory deleted meanwhile is skipped."""
    table = _TABLES[1] if staging else _TABLES[0]
    conn.executemany(
        f"INSERT INTO {table} (memory_id, namespace, model, dim, vector)"
        " SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?1)"
        " ON CONFLICT (memory_id) DO UPDATE SET namespace = excluded.namespace, model = excluded.model,"
        " dim = excluded.dim, vector = excluded.vector,"
        " created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        [(mid, ns, model, dim, blob) for mid, ns, blob in rows],
    )


def swap_staged(conn: Connection) -> int:
    """Move staged vectors into place (newer ones win) and empty the staging table."""
    cur = conn.execute(
        "INSERT INTO memory_embeddings (memory_id, namespace, model, dim, vector, created_at)"
        " SELECT n.memory_id, n.namespace, n.model, n.dim, n.vector, n.created_at"
        " FROM memory_embeddings_next n WHERE true"
        " ON CONFLICT (memory_id) DO UPDATE SET namespace = excluded.namespace, model = excluded.model,"
        " dim = excluded.dim, vector = excluded.vector, created_at = excluded.created_at"
        " WHERE memory_embeddings.created_at <= excluded.created_at"
        " OR memory_embeddings.model != excluded.model OR memory_embeddings.dim != excluded.dim"
    )
    moved = cur.rowcount
    conn.execute("DELETE FROM memory_embeddings_next")
    return int(moved)


def clear_staged(conn: Connection) -> None:
    conn.execute("DELETE FROM memory_embeddings_next")


def stale_vector_count(conn: Connection, model: str, dim: int) -> int:
    return int(
        conn.execute(
            "SELECT count(*) FROM memory_embeddings WHERE model != ? OR dim != ?", (model, dim)
        ).fetchone()[0]
    )


def namespace_vectors(conn: Connection, namespace: str, model: str, dim: int) -> Iterator[tuple[int, bytes]]:
    """Every current-model vector of a namespace: the in-memory index is built from these."""
    yield from conn.execute(
        "SELECT memory_id, vector FROM memory_embeddings WHERE namespace = ? AND model = ? AND dim = ?",
        (namespace, model, dim),
    )


def vectors_since(conn: Connection, since: str, model: str, dim: int) -> list[Any]:
    """Vectors written after ``since`` (by this or another process), to keep an index current."""
    return list(
        conn.execute(
            "SELECT memory_id, namespace, vector, created_at FROM memory_embeddings"
            " WHERE created_at > ? AND model = ? AND dim = ? ORDER BY created_at",
            (since, model, dim),
        )
    )


def get_meta(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM memory_metadata WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO memory_metadata (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET"
        " value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (key, value),
    )


def record_model(conn: Connection, model: str, dim: int, *, bump_generation: bool = False) -> None:
    set_meta(conn, MODEL_KEY, model)
    set_meta(conn, DIM_KEY, str(dim))
    if bump_generation:
        conn.execute(
            "INSERT INTO memory_metadata (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET"
            " value = CAST(value AS INTEGER) + 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            (GENERATION_KEY,),
        )


def exact_search(
    conn: Connection,
    query_blob: bytes,
    model: str,
    dim: int,
    visibility: Visibility,
    filters: Filters,
    limit: int,
) -> list[tuple[int, float]]:
    """sqlite-vec exact cosine over the memories the caller may see that the filters let through.

    Wins when SQL narrows the scope first (one agent's few memories in a crowded namespace, a
    session, a time range); for a whole 100k namespace the in-memory matrix is far faster (BENCHMARKS.md:
    4.3 vs 164 ms p50).
    """
    where, params = scope_sql("m", visibility, filters)
    rows = conn.execute(
        "SELECT m.id, vec_distance_cosine(e.vector, :qvec) AS d FROM memories m"
        " JOIN memory_embeddings e ON e.memory_id = m.id"
        f" WHERE e.model = :qmodel AND e.dim = :qdim AND {where} ORDER BY d LIMIT :qlimit",
        {**params, "qvec": query_blob, "qmodel": model, "qdim": dim, "qlimit": limit},
    ).fetchall()
    return [(int(r[0]), 1.0 - float(r[1])) for r in rows]


def namespace_watermark(conn: Connection, namespace: str, model: str, dim: int) -> tuple[int, int, str]:
    """(row count, max memory id, latest write time) of a namespace's current-model vectors.

    A persisted index (``memory/retrieval/index_files.py``) records these when it is saved and is
    trusted on load only while they still match: an added or re-embedded vector moves the write
    time, a deleted one the count.
    """
    row = conn.execute(
        "SELECT count(*), coalesce(max(memory_id), 0), coalesce(max(created_at), '')"
        " FROM memory_embeddings WHERE namespace = ? AND model = ? AND dim = ?",
        (namespace, model, dim),
    ).fetchone()
    return int(row[0]), int(row[1]), str(row[2])


def namespace_vector_count(conn: Connection, namespace: str, model: str, dim: int) -> int:
    """How many current-model vectors a namespace holds (what loading it would cost)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM memory_embeddings WHERE namespace = ? AND model = ? AND dim = ?",
            (namespace, model, dim),
        ).fetchone()[0]
    )
