"""The package's public names: what ``__all__`` promises exists, and the top level stays small."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from importlib import metadata
from pathlib import Path
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


def _imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """Every package module ``module`` imports, at the top or inside a function alike."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                ).strip(".")
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    found.add(target)
                elif base in known:
                    found.add(base)
    found.discard(module)
    return found


def test_no_import_cycle_even_through_lazy_imports() -> None:
    """A cycle hidden by an import inside a function is still a cycle: the two modules cannot
    be understood, tested or moved apart. (Layers between packages: the import contracts.)"""
    root = Path(memory_system.__file__).parent
    paths = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in root.rglob("*.py")
    }
    known = set(paths)
    graph = {m: _imports_of(p, m, known) for m, p in paths.items()}
    cycles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (the package is deep enough to matter for recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
    return components
