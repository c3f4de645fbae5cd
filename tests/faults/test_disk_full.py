"""The disk fills under the running service: writes fail with a 503 that names the cause, reads
and injection go on, nothing is corrupted, writes resume once there is space; and a backup
refuses to start when its destination cannot hold it.

Each test runs under every mechanism this machine offers (``_disk.py``): a size-limited tmpfs
under the database, and a file-size limit set on the running service.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory_system.ops import schema
from memory_system.store.connection import open_connection, transaction
from tests.conftest import CliRunner
from tests.faults import _disk
from tests.faults._http import agent, events, query

KEPT = [
    "The billing service deploys through the staging cluster first.",
    "Rotate the postgres replica password every Monday.",
]


class FullDisk:
    """A place for the database, and the two moves: take the space away, give it back."""

    def __init__(self, mechanism: str, directory: Path) -> None:
        self.mechanism, self.directory = mechanism, directory
        self.pid: int | None = None
        self._filler: Path | None = None

    def take_space(self) -> None:
        if self.mechanism == _disk.MECHANISM_TMPFS:
            self._filler = _disk.fill(self.directory)
        else:
            assert self.pid is not None
            # Below what the files already hold: the next pages SQLite appends go past it.
            largest = max(p.stat().st_size for p in self.directory.iterdir() if p.is_file())
            _disk.limit_file_size(self.pid, largest)

    def give_space_back(self) -> None:
        if self._filler is not None:
            self._filler.unlink()
            self._filler = None
        elif self.pid is not None:
            _disk.limit_file_size(self.pid, None)


@pytest.fixture(params=_disk.mechanisms())
def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullDisk]:
    directory = tmp_path / "disk"
    if request.param == _disk.MECHANISM_TMPFS:
        _disk.mount_tmpfs(directory, "4m")
    else:
        directory.mkdir()
    yield FullDisk(request.param, directory)
    if request.param == _disk.MECHANISM_TMPFS:
        _disk.unmount(directory)


def _big(n: int) -> str:
    """A distinct memory of ~20 KB (no near-duplicate of the others): pages the disk must find."""
    return f"filling note {n} " + " ".join(f"w{n}x{i}" for i in range(3000))


def test_a_full_disk_refuses_writes_clearly_keeps_reads_and_recovers(
    full_disk: FullDisk, serve_process: Any, cli: CliRunner
) -> None:
    served = serve_process(dev=True, db=full_disk.directory / "memory.db")
    full_disk.pid = served.proc.pid
    with agent(served.url) as client:
        session = client.post("/v1/sessions").json()["session_id"]
        kept = [client.post("/v1/memories", json={"content": c}).json()["id"] for c in KEPT]
        full_disk.take_space()

        refused = None
        for n in range(60):  # bounded: the tmpfs refuses the first, the limit within a few
            response = client.post("/v1/memories", json={"content": _big(n)})
            if response.status_code != 201:
                refused = (n, response)
                break
        assert refused is not None, "the disk never filled"
        failed_n, response = refused
        assert response.status_code == 503, response.text
        detail = response.json()["detail"]
        expected = (
            {"store_full"}
            if full_disk.mechanism == _disk.MECHANISM_TMPFS
            else {"store_full", "store_io_error"}
        )
        assert detail["error"] in expected, detail
        assert str(served.db) in detail["message"] and "free" in detail["message"], detail
        assert "retry-after" not in response.headers  # not seconds away: an operator must act

        # Reads and injection keep working on a full disk.
        assert client.get(f"/v1/memories/{kept[0]}").json()["content"] == KEPT[0]
        found = client.post("/v1/memories/search", json={"query": "postgres replica password"})
        assert found.status_code == 200 and found.json()["hits"][0]["memory"]["id"] == kept[1]
        injected = client.post(
            "/v1/inject", json={"query": "how does billing deploy?", "session_id": session}
        )
        assert injected.status_code == 200, injected.text
        assert KEPT[0] in injected.json()["block"]
        assert client.get("/health/live").status_code == 200

        full_disk.give_space_back()
        after = client.post("/v1/memories", json={"content": _big(failed_n)})
        assert after.status_code == 201, after.text
        assert client.get(f"/v1/memories/{after.json()['id']}").status_code == 200
    assert served.stop() == 0
    assert not events(served, "unhandled_error")  # every failure was answered, none was a bug

    contents = [r[0] for r in query(served.db, "SELECT content FROM memories ORDER BY id")]
    assert contents[:2] == KEPT and contents.count(_big(failed_n)) == 1  # the refused write left no row
    assert query(served.db, "INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')") == []
    check = cli("db", "check", "--db", str(served.db))
    assert check.returncode == 0, check.stdout + check.stderr


def _backup(db: Path, dest: Path, limit: Callable[[], None] | None) -> subprocess.CompletedProcess[str]:
    """``memory-system db backup`` as its own process, under a file-size limit when given one."""
    return subprocess.run(
        [sys.executable, "-m", "memory_system", "db", "backup", "--db", str(db), "--dest", str(dest)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )


def test_a_backup_refuses_to_start_where_it_cannot_fit(full_disk: FullDisk, tmp_path: Path) -> None:
    db = tmp_path / "big" / "memory.db"
    schema.migrate(db)
    conn = open_connection(db, create=False)
    with transaction(conn):
        conn.execute("CREATE TABLE ballast (b BLOB)")  # ~6 MB of pages: more than the 4 MB tmpfs
        conn.executemany("INSERT INTO ballast VALUES (randomblob(100000))", [()] * 60)
    conn.close()
    before = db.read_bytes()
    dest = full_disk.directory / "backups"
    limit = None
    if full_disk.mechanism == _disk.MECHANISM_FILE_SIZE_LIMIT:

        def limit() -> None:
            resource.setrlimit(
                resource.RLIMIT_FSIZE, (1_000_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1])
            )

    proc = _backup(db, dest, limit)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    message = " ".join(proc.stderr.split())
    want = "MB free and the backup needs about" if limit is None else "ulimit -f"
    assert want in message and "nothing was written" in message, message
    assert not dest.exists() or list(dest.iterdir()) == []
    assert db.read_bytes() == before
