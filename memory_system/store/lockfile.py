"""Who holds the database: an exclusive ``flock`` on ``<db>.lock`` while the service runs.

SQLite's own locks say nothing about whether a long-running service has the file open,
and swapping the file under a live service (``db restore``) would leave it writing into
the old inode and a -wal file that now belongs to another database. So the service takes
this lock for its whole life, and operations that must not run under it ask first.

API (for ``memory-system serve`` and anything else that keeps the database open)::

    from memory_system.store.lockfile import ServiceLock, ServiceLockHeld, held_by_other

    lock = ServiceLock(db_path)
    lock.acquire()        # non-blocking; raises ServiceLockHeld naming the holder's pid
    ...                   # serve
    lock.release()        # also released by the kernel when the process dies, even SIGKILL

    with ServiceLock(db_path):   # the same as a context manager
        ...

    held_by_other(db_path)  # True while some other open lock file description holds it
                            # (another process, or another ServiceLock in this process)

The lock file holds the holder's pid as text for the error message; the lock itself is
the ``flock``, never the file's existence, so a stale file after a crash means nothing.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from memory_system.core.errors import StoreError


class ServiceLockHeld(StoreError):
    """Another process holds the service lock of this database."""


def lock_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".lock")


def _holder_pid(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


class ServiceLock:
    """An exclusive, non-blocking ``flock`` on ``<db>.lock`` held until ``release``."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.path = lock_path(self.db_path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ServiceLockHeld(
                f"{self.db_path} is held by a running service (pid {_holder_pid(self.path)}, "
                f"lock {self.path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def held_by_other(db_path: str | Path) -> bool:
    """Whether a service holds the lock; never creates the lock file."""
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no lock file (or none we may read): nobody took the lock
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the shared lock we may have taken
    return False


def holder_pid(db_path: str | Path) -> str:
    return _holder_pid(lock_path(db_path))
