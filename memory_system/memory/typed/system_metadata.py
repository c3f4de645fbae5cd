"""System metadata: durable facts about the memory system itself (not a memory's own
metadata), as JSON by key.

The embedding model and dimension the vectors were made with, the last tier-maintenance
run and its counts, scope versions: things every process must agree on, so they live in
the database rather than in one process's memory.

Usage::

    meta = SystemMetadataStore(db)
    meta.set("embedding:model", {"name": "all-MiniLM-L6-v2", "dim": 384})
    meta.get("embedding:model")  # -> {"name": ..., "dim": 384}
"""

from __future__ import annotations

import json
import re
from typing import Any

from memory_system.store import system_metadata as store
from memory_system.store.connection import Database

__all__ = ["SystemMetadataStore"]

_KEY = re.compile(r"^[A-Za-z0-9_.:\-/]{1,200}$")


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"metadata key {key!r} must be 1-200 characters of letters, digits and _ . : - /")
    return key


class SystemMetadataStore:
    """Key/value facts in ``memory_metadata``; a memory's own ``metadata`` field is something else."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, key: str, default: Any = None) -> Any:
        raw = store.get(self.db.reader(), _check_key(key))
        return default if raw is None else json.loads(raw)

    def set(self, key: str, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"))
        with self.db.write() as conn:
            store.put(conn, _check_key(key), text)

    def delete(self, key: str) -> bool:
        with self.db.write() as conn:
            return store.delete(conn, _check_key(key))

    def items(self, prefix: str = "") -> dict[str, Any]:
        """Every key starting with ``prefix``, decoded (scope versions are plain integers)."""
        return {row["key"]: json.loads(row["value"]) for row in store.with_prefix(self.db.reader(), prefix)}
