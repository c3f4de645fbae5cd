"""Entity search through the trigram index finds exactly what a scan with str.lower() finds."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_system.store import entities as sql
from memory_system.store import migrations
from memory_system.store._sqlite import sqlite3
from memory_system.store.connection import Connection, open_connection, transaction

# Characters where SQLite's folding and Python's str.lower() part ways, and neighbours.
TRICKY = [
    "İ",
    "i",
    "I",
    "ı",
    "K",
    "k",
    "K",
    "Σ",
    "σ",
    "ς",
    "ß",
    "ẞ",
    "µ",
    "μ",
    "ſ",
    "s",
    "S",
    "ǅ",
    "Å",
    "å",
    "Ä",
    "ä",
    "\x00",
    "\x0b",
    "é",
    "É",
    "ᾈ",
    "Ⅻ",
    "Ａ",
    "ａ",
    "😀",
    "中",
    " ",
    "-",
    '"',
    "%",
    "_",
    "\\",
]


@pytest.fixture
def conn(migrated_db: Path) -> Iterator[Connection]:
    connection = open_connection(migrated_db)
    yield connection
    connection.close()


def add(conn: Connection, name: str, entity_type: str, *observations: str, namespace: str = "ns") -> int:
    with transaction(conn):
        entity_id = sql.insert_entity(conn, namespace, name, entity_type)
        assert entity_id is not None
        sql.insert_observations(conn, entity_id, observations)
    return entity_id


def reference(rows: list[tuple[str, str, tuple[str, ...]]], query: str) -> list[str]:
    """The reference server's rule, by brute force: any field contains the query, any case.

    One quirk kept from the scan this index replaced: SQLite's LIKE and pysqlite3's function
    arguments end a text at its first NUL, so what follows a NUL is not searched.
    """
    q = query.lower()
    return [
        name
        for name, kind, obs in rows
        if any(q in text.split("\x00")[0].lower() for text in (name, kind, *obs))
    ]


def names(conn: Connection, query: str, namespace: str = "ns") -> list[str]:
    return [row.name for row in sql.search_entities(conn, namespace, query)]


def test_fold_safe_characters_fold_in_sqlite_as_str_lower_does() -> None:
    """The premise of the index: for every character in the ranges, SQLite's trigram folding
    gives exactly str.lower(). A Python or SQLite upgrade that changes one fails here."""
    mem = sqlite3.connect(":memory:")
    mem.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'trigram', content = '')")
    mem.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    points = [cp for a, b in sql.FOLD_SAFE_RANGES for cp in range(a, b + 1)]
    mem.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", ((cp, chr(cp) * 3) for cp in points))
    folded = dict(mem.execute("SELECT doc, term FROM v"))
    wrong = [hex(cp) for cp in points if folded.get(cp) != chr(cp).lower() * 3 or len(chr(cp).lower()) != 1]
    assert wrong == []
    assert ord("Σ") not in points and ord("İ") not in points  # context-dependent / two characters


def test_migration_marks_odd_text_with_the_same_ranges(conn: Connection) -> None:
    pattern = conn.execute("SELECT pattern FROM entity_search_charset").fetchone()[0]
    assert pattern == sql.fold_safe_glob()
    assert conn.execute("SELECT 'plain text, é and 中' GLOB ?", (pattern,)).fetchone()[0] == 0
    assert conn.execute("SELECT 'İstanbul' GLOB ?", (pattern,)).fetchone()[0] == 1


def test_tricky_characters_are_found_exactly_as_a_scan_finds_them(conn: Connection) -> None:
    rng = random.Random(4)
    rows = []
    for i in range(300):
        name = f"e{i}" + "".join(rng.choices(TRICKY + list("abcxyz"), k=rng.randint(0, 6)))
        kind = "".join(rng.choices(TRICKY + list("ab"), k=rng.randint(1, 4)))
        obs = tuple(
            dict.fromkeys(
                "".join(rng.choices(TRICKY + list("abcz"), k=rng.randint(1, 12)))
                for _ in range(rng.randint(0, 3))
            )
        )
        add(conn, name, kind, *obs)
        rows.append((name, kind, obs))
    in_queries = [c for c in TRICKY if c != "\x00"]  # a NUL query: the scan's own quirk, untouched
    queries = ["".join(rng.choices(in_queries + list("abcz"), k=rng.randint(1, 5))) for _ in range(400)]
    queries += [
        "İst",
        "ist",
        "KKK",
        "kkk",
        "ΟΣ",
        "ος",
        "σσσ",
        "ßab",
        "ssa",
        "SSA",
        "µμμ",
        "e12",
        "%_\\",
        '"a"',
    ]
    for query in queries:
        assert names(conn, query) == reference(rows, query), query
    assert sum(sql._indexable(q) for q in queries) > 100  # the index path, not only the scan


def test_search_keeps_namespaces_apart_and_pages_in_creation_order(conn: Connection) -> None:
    for i in range(5):
        add(conn, f"Widget {i}", "gadget", "shared observation")
        add(conn, f"Other {i}", "gadget", "shared observation", namespace="elsewhere")
    assert names(conn, "SHARED OBS") == [f"Widget {i}" for i in range(5)]
    page = sql.search_entities(conn, "ns", "shared obs", limit=2, offset=2)
    assert [row.name for row in page] == ["Widget 2", "Widget 3"]
    assert page[0].observations == ("shared observation",)


def test_search_reads_the_index_for_three_characters_and_scans_below(conn: Connection) -> None:
    """Proof that the index is used at all: a row taken out of it is no longer found by a
    3-character query, while a 2-character query (which scans) still finds it."""
    entity_id = add(conn, "Ada", "person", "wrote programs")
    assert names(conn, "rogr") == ["Ada"] and names(conn, "ro") == ["Ada"]
    with transaction(conn):
        conn.execute(
            "DELETE FROM observations_search_fts WHERE rowid IN"
            " (SELECT id FROM observations WHERE entity_id = ?)",
            (entity_id,),
        )
    assert names(conn, "rogr") == []
    assert names(conn, "ro") == ["Ada"]


def test_index_follows_updates_and_cascading_deletes(conn: Connection) -> None:
    add(conn, "Ada", "person", "wrote programs", "liked poetry")
    add(conn, "Bob", "person", "poetry too")
    with transaction(conn):
        conn.execute("UPDATE observations SET content = 'liked music' WHERE content = 'liked poetry'")
        conn.execute("UPDATE entities SET name = 'Robert' WHERE name = 'Bob'")
    assert names(conn, "poetry") == ["Robert"]
    assert names(conn, "music") == ["Ada"] and names(conn, "rober") == ["Robert"]
    with transaction(conn):
        sql.delete_entities(conn, "ns", ["Ada"])
    assert names(conn, "music") == [] and names(conn, "person") == ["Robert"]
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM observations_search_fts),"
        " (SELECT count(*) FROM observations),"
        " (SELECT count(*) FROM entities_search_fts)"
    ).fetchone()
    assert tuple(counts) == (1, 1, 1)


def test_a_graph_from_before_migration_004_is_indexed_by_it(db_file: Path) -> None:
    conn = open_connection(db_file)
    migrations.migrate(conn, to=3)
    add(conn, "Old", "legacy", "written at version three")
    migrations.migrate(conn)
    assert conn.execute("SELECT count(*) FROM observations_search_fts").fetchone()[0] == 1
    assert names(conn, "VERSION THREE") == ["Old"]
    conn.close()


def test_search_scans_when_migration_004_is_rolled_back(conn: Connection) -> None:
    add(conn, "Ada", "person", "wrote programs")
    for version in range(migrations.expected_version(), 3, -1):  # the newest first, down to 004
        migrations.rollback(conn, version)
    assert names(conn, "programs") == ["Ada"] and names(conn, "nothing like it") == []
    add(conn, "Bob", "person", "more programs")
    assert names(conn, "PROGRAMS") == ["Ada", "Bob"]
