"""What the option A and C end-to-end tests share: an agent token minted on the database,
a port taken the moment a stopping service frees it, and a stop of whatever service holds a
database at teardown (``rollback c`` starts one the ``serve_process`` fixture does not own)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memory_system.auth.agent_tokens import TokenService
from memory_system.ops import service_control
from memory_system.store import database_ops, inventory
from memory_system.store.connection import Database, open_connection

ADMIN = "e2e-admin-token-0123456789abcdef"


def mint_token(db: Path, agent: str, namespace: str = "default") -> str:
    database = Database(db)
    try:
        return TokenService(database).create(agent, namespace, label="e2e").token
    finally:
        database.close()


def counts(db: Path) -> tuple[dict[str, int], dict[str, int]]:
    """(Phase 1 counts, every table's row count)."""
    conn = open_connection(db, create=False)
    try:
        return inventory.phase_1_counts(conn), inventory.row_counts(conn)
    finally:
        conn.close()


def rollback_records(db: Path) -> list[dict[str, object]]:
    conn = open_connection(db, create=False)
    try:
        return database_ops.rollback_records(conn)
    finally:
        conn.close()


@contextmanager
def stopped_at_exit(db: Path) -> Iterator[None]:
    try:
        yield
    finally:
        service_control.stop_service(db, timeout_s=15)


class PortSquatter:
    """Binds ``port`` on 127.0.0.1 as soon as it is free (polling every 5 ms, bounded), and
    holds it: a service started on that port afterwards fails for a real reason."""

    def __init__(self, port: int, within_s: float = 120.0) -> None:
        self.port, self.held = port, threading.Event()
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._deadline = time.monotonic() + within_s
        self._thread = threading.Thread(target=self._take, daemon=True)
        self._thread.start()

    def _take(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            candidate = socket.socket()
            try:
                candidate.bind(("127.0.0.1", self.port))
                candidate.listen(1)
            except OSError:
                candidate.close()
                time.sleep(0.005)
                continue
            self._socket = candidate
            self.held.set()
            return

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
