"""Two real ways to run out of space: a size-limited tmpfs, or a file-size limit on the process.

The tmpfs is the real thing (ENOSPC, SQLite's SQLITE_FULL) but needs the right to mount, which
CI's root container has and a developer's laptop may not; the file-size limit (RLIMIT_FSIZE,
set on the running service with prlimit, EFBIG) works for any user on Linux. The tests run
under each mechanism this machine offers, so they pass everywhere and CI runs both.
"""

from __future__ import annotations

import functools
import os
import resource
import subprocess
import tempfile
from pathlib import Path

MECHANISM_TMPFS = "tmpfs"
MECHANISM_FILE_SIZE_LIMIT = "file_size_limit"


def _mount(path: Path, size: str) -> bool:
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return proc.returncode == 0


def unmount(path: Path) -> None:
    """Unmount, lazily if something still holds a file there (a killed process's descendants)."""
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=30, check=False).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


@functools.cache
def can_mount_tmpfs() -> bool:
    """Whether this process may mount a tmpfs (tried once, on a scratch directory)."""
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as scratch:
        try:
            if not _mount(Path(scratch), "1m"):
                return False
        except (OSError, subprocess.SubprocessError):
            return False
        unmount(Path(scratch))
        return True


def mechanisms() -> list[str]:
    """The ways to fill a disk that this machine offers, for ``pytest.mark.parametrize``."""
    return [MECHANISM_FILE_SIZE_LIMIT] + ([MECHANISM_TMPFS] if can_mount_tmpfs() else [])


def mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if not _mount(path, size):
        raise AssertionError(f"could not mount a {size} tmpfs at {path}")


def fill(directory: Path) -> Path:
    """Write a file in ``directory`` until the filesystem refuses another byte; its path."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 16, 512, 1):
            try:
                for _ in range(1 << 20):  # bounded: far more than any test filesystem holds
                    os.write(fd, b"\0" * chunk)
            except OSError as exc:
                if exc.errno != 28:  # ENOSPC
                    raise
    finally:
        os.close(fd)
    return filler


def limit_file_size(pid: int, max_bytes: int | None) -> None:
    """Set the soft file-size limit of a running process (``None``: up to the hard one again)."""
    hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard if max_bytes is None else max_bytes, hard))
