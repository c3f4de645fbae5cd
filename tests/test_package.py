"""The package's public names: what ``__all__`` promises exists, and the top level stays small."""

from __future__ import annotations

import importlib
from importlib import metadata
import pkgutil
from types import ModuleType

import pytest

import memory_system


def _modules() -> list[ModuleType]:
    names = [memory_system.__name__] + [
        info.name
        for info in pkgutil.walk_packages(memory_system.__path__, memory_system.__name__ + ".")
        if not info.name.endswith("__main__")  # runs the CLI when imported
    ]
    return [importlib.import_module(name) for name in names]


MODULES = _modules()
WITH_ALL = [m for m in MODULES if hasattr(m, "__all__")]


def test_the_top_level_package_exports_only_its_version() -> None:
    """``import memory_system`` must stay cheap (the CLI imports it on every command): the
    services are reached through ``memory_system.runtime``, not re-exported here."""
    assert memory_system.__all__ == ["__version__"]
    assert memory_system.__version__ == metadata.version("memory-system")


@pytest.mark.parametrize("module", WITH_ALL, ids=lambda m: m.__name__)
def test_every_name_in_all_exists_once(module: ModuleType) -> None:
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{module.__name__}.__all__ repeats a name"
    missing = [n for n in names if not hasattr(module, n)]
    assert missing == [], f"{module.__name__}.__all__ names what the module lacks: {missing}"


@pytest.mark.parametrize("module", WITH_ALL, ids=lambda m: m.__name__)
def test_star_import_gives_exactly_all(module: ModuleType) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module.__name__} import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == sorted(module.__all__)


def test_every_package_says_what_it_holds() -> None:
    """Each folder's ``__init__`` docstring is the one line a newcomer reads to find a room."""
    packages = [m for m in MODULES if hasattr(m, "__path__")]
    assert len(packages) >= 15
    vague = [m.__name__ for m in packages if len((m.__doc__ or "").split()) < 6]
    assert vague == []
