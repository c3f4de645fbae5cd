"""The dashboard's files, without a browser: every file a page loads is in the package and in
the wheel's package data, nothing is loaded from elsewhere, and the vendored uPlot is the
pinned release with its licence."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from memory_system.dashboard import PAGES, UPLOT_VERSION

ROOT = Path(__file__).resolve().parents[2]
HTML = sorted(PAGES.glob("*.html"))


def test_every_file_a_page_loads_is_local_and_exists() -> None:
    assert {p.name for p in HTML} == {"index.html", "ops.html", "flags.html"}
    for page in HTML:
        loaded = re.findall(r'(?:src|href)="([^"#]+)"', page.read_text())
        assert loaded, page.name
        for ref in loaded:
            assert "//" not in ref, f"{page.name} loads {ref} from another host"
            assert (PAGES / ref).is_file(), f"{page.name} loads {ref}, which is not in the package"


def test_the_wheel_carries_every_page_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["memory_system"]
    files = [
        p for p in PAGES.rglob("*") if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts
    ]
    missing = [
        str(p.relative_to(PAGES))
        for p in files
        if not any(fnmatch(p.relative_to(PAGES.parent).as_posix(), g) for g in globs)
    ]
    assert missing == []


def test_the_vendored_uplot_is_the_pinned_release_with_its_licence() -> None:
    vendor = PAGES / "vendor"
    assert (
        (vendor / "uPlot.iife.min.js")
        .read_text()
        .startswith(f"/*! https://github.com/leeoniya/uPlot (v{UPLOT_VERSION}) */")
    )
    assert (vendor / "uPlot.min.css").is_file()
    assert "The MIT License" in (vendor / "LICENSE").read_text()
