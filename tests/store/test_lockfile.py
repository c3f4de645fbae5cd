"""The service lock: exclusive across processes, released by the kernel even on SIGKILL."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.store.lockfile import ServiceLock, ServiceLockHeld, held_by_other, lock_path


def test_a_lock_held_by_another_process_is_seen_and_refused(db_file: Path, hold_service_lock) -> None:
    assert not held_by_other(db_file)
    holder = hold_service_lock(db_file)
    assert held_by_other(db_file)
    with pytest.raises(ServiceLockHeld, match=f"pid {holder.pid}"):
        ServiceLock(db_file).acquire()
    holder.kill()
    holder.wait(timeout=30)
    assert not held_by_other(db_file)  # a crash leaves the file, never the lock
    assert lock_path(db_file).exists()
    with ServiceLock(db_file) as lock:
        assert lock.held
    assert not lock.held


def test_a_second_lock_in_the_same_process_is_refused_too(db_file: Path) -> None:
    first = ServiceLock(db_file)
    first.acquire()
    try:
        assert held_by_other(db_file)
        with pytest.raises(ServiceLockHeld):
            ServiceLock(db_file).acquire()
    finally:
        first.release()
    assert not held_by_other(db_file)


def test_asking_never_creates_the_lock_file(db_file: Path) -> None:
    assert not held_by_other(db_file)
    assert not lock_path(db_file).exists()
