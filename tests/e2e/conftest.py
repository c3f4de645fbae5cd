"""Releases built from this repository for the end-to-end rollback tests, once per session.

Two virtualenvs in one releases directory: an OLDER release from git history (the tag
``v0.1.0``, else the last 0.1.0 commit) and the CURRENT one (this working tree). Building
them takes ~30 s each (pip, from the package index or its cache), so it is done once per
test session; a shallow clone without that history skips with the reason.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from memory_system.ops import releases

ROOT = Path(__file__).resolve().parents[2]
OLD_REFS = ("v0.1.0", "04ef665721aa")
NETWORK_SIGNS = (
    "No matching distribution",
    "Could not find a version",
    "connection",
    "Network is unreachable",
)


@dataclass(frozen=True)
class BuiltReleases:
    directory: Path
    old: releases.Release
    current: releases.Release


def _old_ref() -> str:
    shallow = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--is-shallow-repository"],
        capture_output=True,
        text=True,
        check=False,
    )
    if shallow.returncode != 0:
        pytest.skip(f"{ROOT} is not a git checkout: the older release is built from its history")
    for ref in OLD_REFS:
        found = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
            capture_output=True,
            check=False,
        )
        if found.returncode == 0:
            return ref
    why = "a shallow clone" if shallow.stdout.strip() == "true" else "history without them"
    pytest.skip(f"none of {', '.join(OLD_REFS)} is in {ROOT} ({why}): fetch the tags and history")


def _install(spec: str, directory: Path) -> releases.Release:
    try:
        return releases.install(spec, directory=directory, repo=ROOT)
    except releases.ReleaseError as exc:
        if any(sign in str(exc) for sign in NETWORK_SIGNS):
            pytest.skip(f"pip cannot reach the package index to build release {spec}: {exc}")
        raise


@pytest.fixture(scope="session")
def built_releases(tmp_path_factory: pytest.TempPathFactory) -> BuiltReleases:
    directory = tmp_path_factory.mktemp("releases")
    old = _install(_old_ref(), directory)
    current = _install(str(ROOT), directory)
    return BuiltReleases(directory, old, current)
