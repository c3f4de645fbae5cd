"""Storage layer: connections, migrations and the SQL queries of every service."""

from memory_system.store.connection import Database, open_connection, transaction
from memory_system.store.errors import MigrationError, StoreError

__all__ = ["Database", "MigrationError", "StoreError", "open_connection", "transaction"]
