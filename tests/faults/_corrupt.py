"""Damaging a database file in place, the two ways the tests need (the one home of these helpers).

- ``damage_index_keys``: changed key bytes in a leaf of the entities name index; the header
  and page structure stay valid, so only ``integrity_check`` (which compares index and table)
  notices, and ``quick_check`` does not.
- ``damage_page_type``: the b-tree page type byte of that index overwritten; a malformed page
  that ``quick_check`` (and so the service's periodic check) finds.

Both fold the WAL into the file first, so that the damaged page is the one SQLite reads.
"""

from __future__ import annotations

from pathlib import Path

from memory_system.store.connection import open_connection

INDEX = "sqlite_autoindex_entities_1"  # the UNIQUE (namespace, name) index of entities


def _index_page(path: Path) -> tuple[int, int]:
    """(root page number, page size) of the entities name index, after a WAL checkpoint."""
    conn = open_connection(path, create=False)
    try:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (INDEX,)).fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return int(root), int(page_size)


def damage_index_keys(path: Path) -> None:
    """Add 50 entities, then overwrite key bytes in the index's leaf page (the file still opens)."""
    conn = open_connection(path, create=False)
    try:
        for i in range(50):
            conn.execute(
                "INSERT INTO entities (namespace, name, entity_type) VALUES ('c', ?, 'x')", (f"zz{i:03d}",)
            )
    finally:
        conn.close()
    root, page_size = _index_page(path)
    data = bytearray(path.read_bytes())
    page = slice((root - 1) * page_size, root * page_size)
    at = data[page].rfind(b"zz0")
    assert at > 0, "index page layout not as expected"
    start = (root - 1) * page_size + at
    data[start : start + 3] = b"\x01\x01\x01"
    path.write_bytes(bytes(data))


def damage_page_type(path: Path) -> None:
    """Overwrite the first byte (the b-tree page type) of the index's root page."""
    root, page_size = _index_page(path)
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff")
