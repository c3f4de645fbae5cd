"""Another process holding the database's write lock: a real second SQLite connection in a
subprocess, as a long CLI job or a stuck script would (tests/faults, tests/ops/alerts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Takes SQLite's write lock with an uncommitted write, says so, and holds it until stdin closes.
HOLDER = """
import sys
from memory_system.store.connection import open_connection
conn = open_connection(sys.argv[1], create=False)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO entities (namespace, name, entity_type) VALUES ('other', 'held', 'x')")
print("held", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
conn.close()
"""


class LockHolder:
    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0
