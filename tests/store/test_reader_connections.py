"""Reader connections live as long as their threads, not as long as the process.

The server's thread pool (anyio) ends a worker idle for 10 s and starts a new one under the
next burst; each new thread opens its own reader. They used to stay open for good, each with
its SQLite page and statement caches: memory the soak saw grow (benchmarks/soak.py).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from memory_system.store.connection import Database

THREADS = 40


def _files_open_on(path: Path) -> int:
    """File descriptors of this process open on ``path`` (one per SQLite connection)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                count += 1
        except OSError:
            continue  # closed meanwhile (listdir's own descriptor)
    return count


def _read_on_a_new_thread(db: Database) -> None:
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(db.reader().execute("SELECT 1").fetchone()[0]))
    thread.start()
    thread.join(timeout=10)
    assert seen == [1]


def test_readers_of_ended_threads_are_closed(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with Database(path) as db:
        for _ in range(THREADS):
            _read_on_a_new_thread(db)
        db.reader().execute("SELECT 1").fetchone()  # this thread's reader closes the last one's
        assert db.open_readers() == 1


def test_readers_of_live_threads_stay_open_and_keep_working(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    with Database(path) as db:
        with db.write() as conn:
            conn.execute("CREATE TABLE notes (body TEXT)")
            conn.execute("INSERT INTO notes VALUES ('kept')")
        ready, done = threading.Event(), threading.Event()
        answers: list[str] = []

        def long_lived() -> None:
            reader = db.reader()
            ready.set()
            done.wait(timeout=10)
            answers.append(reader.execute("SELECT body FROM notes").fetchone()[0])

        worker = threading.Thread(target=long_lived)
        worker.start()
        assert ready.wait(timeout=10)
        for _ in range(5):
            _read_on_a_new_thread(db)  # each new reader prunes the ended ones, never the live one
        done.set()
        worker.join(timeout=10)
        assert answers == ["kept"]
        assert db.open_readers() == 2  # the worker's (its thread just ended) and the last new one's


def test_close_closes_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    db = Database(path)
    _read_on_a_new_thread(db)
    db.reader().execute("SELECT 1").fetchone()
    db.close()
    assert db.open_readers() == 0
    if os.path.isdir("/proc/self/fd"):
        assert _files_open_on(path) == 0


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
def test_descriptors_stay_bounded_while_threads_come_and_go(tmp_path: Path) -> None:
    """Before the fix: 42 descriptors after 40 threads, 162 after 160 (one per thread ever)."""
    path = tmp_path / "memory.db"
    with Database(path) as db:
        counts = []
        for _ in range(4):
            for _ in range(THREADS):
                _read_on_a_new_thread(db)
            db.reader().execute("SELECT 1").fetchone()
            counts.append(_files_open_on(path))
        # The writer, this thread's reader, and at most two that SQLite keeps open after their
        # connection closed (a POSIX lock on the file is held meanwhile; it reuses them).
        assert max(counts) <= 4, counts
