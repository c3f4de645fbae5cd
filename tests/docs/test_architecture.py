"""docs/architecture.md names every package of the layout, and its layers are the import
contracts that lint-imports enforces (pyproject.toml)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _packages() -> set[str]:
    """Every folder of memory_system/ that is a package, and the composition root."""
    found = {
        p.parent.relative_to(ROOT).as_posix() + "/" for p in (ROOT / "memory_system").rglob("__init__.py")
    }
    found.discard("memory_system/")
    return found | {"memory_system/runtime.py"}


def _layout() -> set[str]:
    section = DOC.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(memory_system/[^`]+)` \|", section, re.MULTILINE))


def _layers_blocks() -> list[list[str]]:
    section = DOC.split("## Layers", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n") for block in re.findall(r"```\n(.+?)\n```", section, re.DOTALL)]


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]


def _short(layer: str, container: str) -> str:
    return " | ".join(name.strip().removeprefix(container) for name in layer.split("|"))


def test_the_scan_finds_the_packages_we_know_exist() -> None:
    assert {
        "memory_system/core/",
        "memory_system/memory/retrieval/",
        "memory_system/runtime.py",
    } <= _packages()


def test_every_package_has_its_line_and_every_line_a_package() -> None:
    layout, packages = _layout(), _packages()
    assert sorted(packages - layout) == [], "packages the layout does not describe"
    assert sorted(layout - packages) == [], "lines for folders that do not exist"


def test_the_layers_are_the_contracts() -> None:
    by_container = {tuple(c.get("containers", ())): c["layers"] for c in _contracts()}
    package = [_short(layer, "memory_system.") for layer in by_container[()]]
    rooms = [_short(layer, "") for layer in by_container[("memory_system.memory",)]]
    assert _layers_blocks()[:2] == [package, rooms]
