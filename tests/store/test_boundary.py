"""store/ is the storage boundary: no module outside it (or migrations/) speaks SQLite or SQL.

Read from the source with ``ast``, so that a lazy import inside a function counts too.
Docstrings may mention SQL in prose; every other string constant (f-string parts
included) must not hold SQL text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import memory_system

PACKAGE = Path(memory_system.__file__).resolve().parent
ALLOWED = ("store", "migrations")
DRIVERS = ("sqlite3", "pysqlite3")
PRIVATE = "memory_system.store._sqlite"
SQL = re.compile(
    r"\b(SELECT|INSERT INTO|INSERT OR \w+ INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX|VIEW|TRIGGER)"
    r"|DROP TABLE|ALTER TABLE|PRAGMA|BEGIN IMMEDIATE|sqlite_master|sqlite_schema|sqlite_sequence)\b"
)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def violations(source: str, where: str) -> list[str]:
    """Each import of the driver, use of its name, or SQL string in ``source``, as ``where:line: what``."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # f"UPDATE {table} SET": read whole, a placeholder per field
            text = "".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)
            skip.update(id(v) for v in node.values)
            if SQL.search(text):
                found.append(f"{where}:{node.lineno}: SQL text {text[:60]!r}")
        if isinstance(node, ast.Import):
            found += [
                f"{where}:{node.lineno}: imports {a.name}"
                for a in node.names
                if a.name.split(".")[0] in DRIVERS or a.name == PRIVATE
            ]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = {f"{node.module}.{a.name}" for a in node.names}
            if node.module.split(".")[0] in DRIVERS or node.module == PRIVATE or PRIVATE in names:
                found.append(f"{where}:{node.lineno}: imports from {node.module}")
        elif isinstance(node, ast.Name) and node.id in DRIVERS:
            found.append(f"{where}:{node.lineno}: uses the name {node.id}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and SQL.search(node.value)
        ):
            found.append(f"{where}:{node.lineno}: SQL text {node.value[:60]!r}")
    return found


def _outside_store() -> list[Path]:
    modules = [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] not in ALLOWED]
    assert len(modules) > 50, "the scan found too few modules to mean anything"
    return modules


def test_no_module_outside_store_speaks_sqlite_or_sql() -> None:
    found = [
        v
        for path in _outside_store()
        for v in violations(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    advice = "move these into store/ (a function there), and catch StoreError subclasses"
    assert found == [], advice + ":\n" + "\n".join(found)


def test_the_scan_catches_each_kind_of_violation() -> None:
    source = '''
"""A module docstring may say SELECT * FROM memories in prose."""
import sqlite3
import pysqlite3.dbapi2 as driver
from memory_system.store._sqlite import sqlite3 as lazy
from memory_system.store import _sqlite


def f(conn, table):
    """So may a function's: DELETE FROM rows."""
    conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'agent_tokens'")
    conn.execute(f"UPDATE {table} SET x = 1" if table else "PRAGMA foreign_keys = ON")
    return sqlite3.OperationalError
'''
    found = violations(source, "m.py")
    assert [v.split(": ", 1)[1] for v in found if "imports" in v] == [
        "imports sqlite3",
        "imports pysqlite3.dbapi2",
        "imports from memory_system.store._sqlite",
        "imports from memory_system.store",
    ]
    assert sum("SQL text" in v for v in found) == 3
    assert any("'UPDATE x SET x = 1'" in v for v in found) and any("'PRAGMA foreign_keys" in v for v in found)
    assert any("uses the name sqlite3" in v for v in found)
    assert not [v for v in found if "prose" in v or "DELETE FROM rows" in v]


def test_plain_prose_and_identifiers_are_not_sql() -> None:
    source = """
MESSAGE = "select a flag, then insert the value into the config file"
HELP = "Update the settings; delete from the list any you do not need."
TABLE = "memories"
"""
    assert violations(source, "m.py") == []
