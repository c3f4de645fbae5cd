"""The service layer wired together for one process: the database and every service on it.

Interfaces (HTTP, CLI, MCP) get one ``Runtime`` and call its services; nothing below this
module knows about FastAPI or typer. Services are built on first use so that a CLI command
that needs only the graph never loads the embedding model.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from memory_system.settings import Settings
from memory_system.store.connection import Database

if TYPE_CHECKING:
    from memory_system.flags.service import FlagService
    from memory_system.memory.entities import KnowledgeGraph
    from memory_system.memory.sessions import SessionService
    from memory_system.ops.tokens import TokenService


class Runtime:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.db_path)
        self._closers: list[Any] = []

    @cached_property
    def graph(self) -> KnowledgeGraph:
        from memory_system.memory.entities import KnowledgeGraph

        return KnowledgeGraph(self.db)

    @cached_property
    def flags(self) -> FlagService:
        """Feature flags: env read now, the config file now and on SIGHUP, the database always."""
        import os

        from memory_system.flags.service import FlagService

        return FlagService(self.db, os.environ, self.settings.config_path)

    @cached_property
    def tokens(self) -> TokenService:
        from memory_system.ops.tokens import TokenService

        return TokenService(self.db)

    @cached_property
    def sessions(self) -> SessionService:
        from memory_system.memory.sessions import SessionService

        return SessionService(self.db)

    def on_close(self, closer: Any) -> None:
        """Register a callable run at close (background workers, caches), newest first."""
        self._closers.append(closer)

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()
        self.db.close()
