"""The SQLite module the whole project uses.

The pyenv Pythons on our machines build ``sqlite3`` without ``enable_load_extension``,
so the standard library cannot load sqlite-vec. ``pysqlite3-binary`` is a drop-in
``sqlite3`` with a current SQLite (3.51) that can; it is a pinned dependency on Linux
x86_64. Elsewhere we fall back to the standard library and lose only extension loading.
Type checkers read the standard library's stubs: pysqlite3 ships none and has the same API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3
else:
    try:
        import pysqlite3.dbapi2 as sqlite3
    except ImportError:  # pragma: no cover - platforms without the wheel
        import sqlite3

__all__ = ["sqlite3"]
