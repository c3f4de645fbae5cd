"""Which build is running: the release version and the git commit it was built from.

Option B of the runbook rolls code back to an earlier release, and its checklist asks
"the expected version is running". Every commit used to say ``0.1.0``, so the answer has
two parts: ``__version__`` (bumped and tagged at every release, see CHANGELOG.md) and the
commit. The commit is found, in order, from:

1. ``MEMORY_SYSTEM_BUILD_COMMIT`` in the environment (a container build sets it);
2. ``memory_system/_build.json`` written next to this package by
   ``memory-system release install`` (it knows the ref it built);
3. ``git rev-parse HEAD`` when the package runs from a git checkout (development);
4. ``"unknown"`` otherwise, never an error: a missing commit must not stop a service.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from memory_system import __version__

ENV_COMMIT = "MEMORY_SYSTEM_BUILD_COMMIT"
BUILD_FILE_NAME = "_build.json"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str

    @property
    def short_commit(self) -> str:
        return self.commit if self.commit == UNKNOWN else self.commit[:12]

    def describe(self) -> str:
        return f"{self.version} ({self.short_commit})"


def package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def build_file() -> Path:
    return package_dir() / BUILD_FILE_NAME


def _from_build_file(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    commit = data.get("commit") if isinstance(data, dict) else None
    return commit if isinstance(commit, str) and commit else None


def _from_git(directory: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


@functools.cache
def build_info() -> BuildInfo:
    """Read once per process: the code on disk cannot change what this process runs."""
    commit = os.environ.get(ENV_COMMIT, "").strip() or _from_build_file(build_file())
    if commit is None:
        commit = _from_git(package_dir())
    return BuildInfo(__version__, commit or UNKNOWN)
