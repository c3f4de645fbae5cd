"""Every release bumps the version, has a CHANGELOG entry and a tag (option B needs targets)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import memory_system
from memory_system.core.build import build_info

ROOT = Path(__file__).resolve().parent.parent
SECTION = re.compile(r"^## (\d+\.\d+\.\d+) - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def _released() -> list[str]:
    return SECTION.findall((ROOT / "CHANGELOG.md").read_text())


def test_the_running_version_has_a_changelog_entry_and_is_the_newest() -> None:
    versions = [v for v, _ in _released()]
    assert versions, "CHANGELOG.md has no '## X.Y.Z - YYYY-MM-DD' section"
    assert versions[0] == memory_system.__version__, (
        f"version {memory_system.__version__} has no CHANGELOG entry above {versions[0]}: "
        "a release bumps the version and writes its entry"
    )
    assert len(set(versions)) == len(versions), f"a version appears twice: {versions}"


def test_every_earlier_release_is_tagged() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: tags cannot be read")
    done = subprocess.run(["git", "-C", str(ROOT), "tag", "--list", "v*"], capture_output=True, text=True)
    tags = set(done.stdout.split())
    if not tags:
        pytest.skip("this clone carries no tags (git clone --no-tags or a shallow CI checkout)")
    earlier = [v for v, _ in _released()][1:]
    assert {f"v{v}" for v in earlier} <= tags, (
        f"untagged releases: {sorted({f'v{v}' for v in earlier} - tags)}"
    )


def test_the_build_names_its_commit_in_a_git_checkout() -> None:
    info = build_info()
    assert info.version == memory_system.__version__
    if (ROOT / ".git").exists() and shutil.which("git"):
        assert re.fullmatch(r"[0-9a-f]{40}", info.commit), info.commit
