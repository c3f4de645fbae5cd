"""Releases directory, ``current`` link and the schema fit of option B, on real files and
databases; the virtualenv builds themselves run once in tests/e2e/ (they take ~30 s each)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memory_system.ops import releases, schema
from memory_system.ops.runbook import option_b
from memory_system.ops.runbook.steps import StepFailed
from memory_system.store.migrations import load_migrations


def _fake(
    directory: Path, name: str, version: str, *, expected: int = 5, at: str = "2026-12-01T00:00:00Z"
) -> Path:
    """A release directory as ``install`` leaves it, without the virtualenv's contents."""
    path = directory / name
    (path / "bin").mkdir(parents=True)
    record = {
        "version": version,
        "commit": "f" * 40,
        "ref": f"v{version}",
        "source": "git",
        "python": "3.11.7",
        "installed_at": at,
        "expected_schema": expected,
        "extras": ["server"],
        "migrations": {str(m.version): m.checksum for m in load_migrations()[:expected]},
    }
    (path / releases.RELEASE_FILE).write_text(json.dumps(record))
    return path


def test_list_use_and_find(tmp_path: Path) -> None:
    _fake(tmp_path, "0.1.0-aaaaaaaaaaaa", "0.1.0", expected=4, at="2026-11-26T00:00:00Z")
    _fake(tmp_path, "0.2.0-bbbbbbbbbbbb", "0.2.0")
    (tmp_path / ".install-half").mkdir()  # an install under way: not a release
    assert [r.version for r in releases.list_releases(tmp_path)] == ["0.1.0", "0.2.0"]
    assert releases.current_name(tmp_path) is None

    used = releases.use(tmp_path, "0.2.0")
    assert used.current and (tmp_path / "current").resolve() == (tmp_path / used.name).resolve()
    releases.use(tmp_path, "v0.1.0")
    assert [r.name for r in releases.list_releases(tmp_path) if r.current] == ["0.1.0-aaaaaaaaaaaa"]
    assert releases.find(tmp_path, "current").version == "0.1.0"
    assert releases.find(tmp_path, "0.2.0-bbbbbbbbbbbb").expected_schema == 5
    assert not list(tmp_path.glob(".current.*"))  # the temporary link was renamed, not left


def test_find_names_what_is_installed_and_how_to_install(tmp_path: Path) -> None:
    _fake(tmp_path, "0.2.0-bbbbbbbbbbbb", "0.2.0")
    with pytest.raises(
        releases.ReleaseError, match=r"installed: 0\.2\.0-bbbbbbbbbbbb.*release install 9\.9\.9"
    ):
        releases.find(tmp_path, "9.9.9")
    _fake(tmp_path, "0.2.0-cccccccccccc", "0.2.0")
    with pytest.raises(releases.ReleaseError, match="matches several"):
        releases.find(tmp_path, "0.2.0")


def test_install_refuses_what_it_cannot_find(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    with pytest.raises(releases.ReleaseError, match="neither an installed release"):
        releases.install("no-such-ref-xyz", directory=tmp_path, repo=repo)
    with pytest.raises(releases.ReleaseError, match="does not exist"):
        releases.install(str(tmp_path / "missing.whl"), directory=tmp_path)
    with pytest.raises(releases.ReleaseError, match="pass --repo"):
        releases._resolve("v0.1.0", tmp_path, None, tmp_path)
    assert releases.list_releases(tmp_path) == []


def test_an_installed_version_is_returned_not_rebuilt(tmp_path: Path) -> None:
    _fake(tmp_path, "0.2.0-bbbbbbbbbbbb", "0.2.0")
    assert releases.install("0.2.0", directory=tmp_path).name == "0.2.0-bbbbbbbbbbbb"


def _release(directory: Path, version: str, expected: int) -> releases.Release:
    _fake(directory, f"{version}-{'a' * 12}", version, expected=expected)
    return releases.find(directory, version)


def test_schema_fit(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    schema.migrate(db)
    latest = schema.expected_version()
    older = _release(tmp_path, "0.1.0", 4)
    assert option_b.schema_fit(older, db).endswith("schema ahead")
    assert option_b.schema_fit(_release(tmp_path, "0.2.0", latest), db).endswith("schema current")
    newer = _release(tmp_path, "9.0.0", latest + 1)
    with pytest.raises(StepFailed, match=f"lacks migration\\(s\\) {latest + 1:03d} that 9.0.0.*db migrate"):
        option_b.schema_fit(newer, db)
    edited = _release(tmp_path, "0.0.9", 4)
    edited.migrations["4"] = "0" * 64
    with pytest.raises(StepFailed, match="migration\\(s\\) 4 different.*refuse to start"):
        option_b.schema_fit(edited, db)


def test_schema_fit_refuses_legacy_mode(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    schema.migrate(db, skip=schema.FEATURE_MIGRATIONS)
    with pytest.raises(StepFailed, match="legacy mode.*db migrate"):
        option_b.schema_fit(_release(tmp_path, "0.1.0", 4), db)


def test_cli_list_and_use(cli: Callable[..., Any], tmp_path: Path) -> None:
    _fake(tmp_path, "0.1.0-aaaaaaaaaaaa", "0.1.0", expected=4)
    assert "no releases" in cli("release", "list", "--dir", str(tmp_path / "none"), check=True).stdout
    assert (
        "current -> 0.1.0-aaaaaaaaaaaa"
        in cli("release", "use", "0.1.0", "--dir", str(tmp_path), check=True).stdout
    )
    listed = json.loads(cli("release", "list", "--dir", str(tmp_path), "--json", check=True).stdout)
    assert [(r["version"], r["expected_schema"], r["current"]) for r in listed["releases"]] == [
        ("0.1.0", 4, True)
    ]
    text = cli("release", "list", "--dir", str(tmp_path), check=True).stdout
    assert "* 0.1.0-aaaaaaaaaaaa" in text and "schema 4" in text
    refused = cli("release", "use", "7.7.7", "--dir", str(tmp_path))
    assert refused.returncode == 1 and "no release '7.7.7'" in refused.stderr


def test_rollback_b_refuses_before_touching_anything(cli: Callable[..., Any], tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    schema.migrate(db, skip=schema.FEATURE_MIGRATIONS)
    _fake(tmp_path / "rel", "0.1.0-aaaaaaaaaaaa", "0.1.0", expected=4)
    done = cli(
        "rollback", "b", "--to", "0.1.0", "--db", str(db), "--dir", str(tmp_path / "rel"), "--yes", "--json"
    )
    result = json.loads(done.stdout)
    assert done.returncode == 1 and not result["ok"]
    assert [s["name"] for s in result["steps"]] == ["find the target release", "check it runs on this schema"]
    assert "legacy mode" in result["steps"][-1]["detail"]
    assert not (tmp_path / "rel" / "current").exists()
    missing = cli("rollback", "b", "--to", "5.5.5", "--db", str(db), "--dir", str(tmp_path / "rel"), "--yes")
    assert missing.returncode == 1 and "release install 5.5.5" in missing.stderr + missing.stdout
