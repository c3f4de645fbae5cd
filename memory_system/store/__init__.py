"""Storage layer: connections, migrations and the SQL queries of every service.

Only ``StoreError`` kinds (``core/errors.py``) leave it; ``Connection`` and ``Cursor`` are the interface
a second engine would implement.
"""

from memory_system.store.connection import Connection, Cursor, Database, Row, open_connection, transaction

__all__ = ["Connection", "Cursor", "Database", "Row", "open_connection", "transaction"]
