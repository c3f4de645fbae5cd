"""Storage layer: connections, migrations and the SQL queries of every service.

Only ``StoreError`` subclasses leave it; ``Connection`` and ``Cursor`` are the interface
a second engine would implement.
"""

from memory_system.store.connection import Connection, Cursor, Database, Row, open_connection, transaction
from memory_system.store.errors import (
    MigrationError,
    StoreBusy,
    StoreConstraint,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreReadOnly,
    StoreSchemaMissing,
)

__all__ = [
    "Connection",
    "Cursor",
    "Database",
    "MigrationError",
    "Row",
    "StoreBusy",
    "StoreConstraint",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "StoreReadOnly",
    "StoreSchemaMissing",
    "open_connection",
    "transaction",
]
