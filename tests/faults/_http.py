"""What the fault tests share: an agent's HTTP client, bounded waits, and SQL on the service's file.

Every wait here is bounded; none asserts how long anything took (the test machine is shared).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from memory_system.store.connection import open_connection

T = TypeVar("T")
NS = "faults"


def agent(url: str, name: str = "a1", timeout: float = 60) -> httpx.Client:
    """An agent's client in --dev mode: the headers say who it is."""
    return httpx.Client(base_url=url, timeout=timeout, headers={"X-Agent-Id": name, "X-Namespace": NS})


def wait_until(probe: Callable[[], T], what: str, timeout: float = 60, every: float = 0.1) -> T:
    """``probe()`` until it returns something truthy, for at most ``timeout`` s; else fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout} s (last: {value!r})")
        time.sleep(every)


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one SELECT on the database file, through a short-lived connection of its own."""
    conn = open_connection(db, create=False)
    try:
        return [tuple(row) for row in conn.execute(sql, params)]
    finally:
        conn.close()


def events(served: Any, name: str) -> list[dict[str, Any]]:
    """The service's JSON log lines of one event."""
    return [e for e in served.log_events() if e["event"] == name]
