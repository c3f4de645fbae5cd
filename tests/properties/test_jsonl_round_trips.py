"""memory.jsonl: export, import into a fresh database, export again: the same bytes, always.

For any file the reference MCP memory server could have written (any Unicode in names,
types and observations up to their limits, repeated entities that merge, duplicate and
dangling relations, blank lines, CRLF line ends, ``\\u`` escapes or raw UTF-8, extra keys
holding nested JSON that the import ignores):

- importing it gives the graph a plain-Python reading of the file predicts (first type
  wins, observations merge in order without duplicates, a relation is kept once and only
  when both endpoints exist), written out as the reference writes lines;
- export -> import into a fresh database (another namespace) -> export gives identical bytes;
- importing the export again into the same namespace changes nothing.
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from memory_system.memory.graph.entities import MAX_OBSERVATION_CHARS, KnowledgeGraph
from memory_system.memory.graph.jsonl import export_jsonl, import_jsonl
from memory_system.ops import schema
from memory_system.store.connection import Database
from tests.properties.strategies import fuzz, json_values, line_text

POOL = ["Ada", "ada", "Zoë", "東京", "a b", "x\u2028y"]  # names that collide, merge and link
names = st.one_of(st.sampled_from(POOL), st.sampled_from(POOL), line_text(30))  # mostly a pool name
big_observation = st.tuples(line_text(40), st.integers(100, 2000)).map(
    lambda t: (t[0] * t[1])[:MAX_OBSERVATION_CHARS]
)
observations = st.lists(
    st.one_of(line_text(60), st.sampled_from(["same", "Same"]), big_observation), max_size=5
)
extras = st.dictionaries(st.sampled_from(["id", "meta", "createdAt"]), json_values, max_size=2)
entity_lines = st.builds(
    lambda name, kind, obs, extra: {
        **extra,
        "type": "entity",
        "name": name,
        "entityType": kind,
        "observations": obs,
    },
    names,
    st.one_of(st.sampled_from(["person", "org"]), line_text(20)),
    observations,
    extras,
)
relation_types = st.one_of(st.sampled_from(["knows", "works_at"]), line_text(20))


@st.composite
def files(draw: st.DrawFn) -> tuple[list[dict[str, Any] | None], bool, str]:
    """Lines in any order; relations mostly between the file's own entities, some dangling."""
    entities = draw(st.lists(entity_lines, max_size=10))
    known = [e["name"] for e in entities] or POOL
    endpoint = st.one_of(st.sampled_from(known), st.sampled_from(known), names)
    relations = [
        {**extra, "type": "relation", "from": a, "to": b, "relationType": kind}
        for a, b, kind, extra in draw(
            st.lists(st.tuples(endpoint, endpoint, relation_types, extras), max_size=10)
        )
    ]
    blank: list[dict[str, Any] | None] = [None] * draw(st.integers(0, 3))
    lines = draw(st.permutations([*entities, *relations, *blank]))
    ensure_ascii = draw(st.booleans())  # \u escapes, or raw UTF-8 as JSON.stringify writes
    return lines, ensure_ascii, draw(st.sampled_from(["\n", "\r\n"]))


def reference_lines(items: list[dict[str, Any] | None]) -> list[str]:
    """What an import of ``items`` into an empty namespace should export, read in plain Python."""
    entities: dict[str, tuple[str, list[str]]] = {}
    for item in items:
        if item is not None and item["type"] == "entity":
            _, merged = entities.setdefault(item["name"], (item["entityType"], []))
            for observation in item["observations"]:
                if observation not in merged:
                    merged.append(observation)
    relations: list[tuple[str, str, str]] = []
    for item in items:
        if item is not None and item["type"] == "relation":
            key = (item["from"], item["to"], item["relationType"])
            if key[0] in entities and key[1] in entities and key not in relations:
                relations.append(key)
    dump = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))  # as JSON.stringify
    return [
        dump({"type": "entity", "name": n, "entityType": k, "observations": o})
        for n, (k, o) in entities.items()
    ] + [dump({"type": "relation", "from": a, "to": b, "relationType": t}) for a, b, t in relations]


def _graph(path: Path) -> tuple[Database, KnowledgeGraph]:
    schema.migrate(path)
    db = Database(path)
    return db, KnowledgeGraph(db)


@fuzz(150)
@given(file=files(), namespace=st.sampled_from(["default", "proj", "team/b"]))
def test_export_import_export_gives_the_same_bytes(
    file: tuple[list[dict[str, Any] | None], bool, str], namespace: str
) -> None:
    items, ascii_only, newline = file
    with tempfile.TemporaryDirectory(prefix="jsonl-") as name:
        root = Path(name)
        source = root / "memory.jsonl"
        source.write_bytes(
            newline.join("" if i is None else json.dumps(i, ensure_ascii=ascii_only) for i in items).encode()
        )
        first_db, first = _graph(root / "first.db")
        second_db, second = _graph(root / "second.db")
        try:
            summary = import_jsonl(first, source, namespace)
            created = (min(summary.entities_created, 5), min(summary.relations_created, 3))
            event(f"entities, relations created: {created}")
            repeated = len({e["name"] for e in items if e and e["type"] == "entity"}) < sum(
                1 for e in items if e and e["type"] == "entity"
            )
            event(f"repeated entities: {repeated}, dangling relations: {bool(summary.relations_skipped)}")
            export_jsonl(first, root / "export1.jsonl", namespace)
            exported = (root / "export1.jsonl").read_bytes()
            # Lines end in "\n" only: U+2028 and friends are data here, not line breaks.
            assert exported.decode("utf-8").split("\n")[:-1] == reference_lines(items)

            import_jsonl(second, root / "export1.jsonl", "elsewhere")
            export_jsonl(second, root / "export2.jsonl", "elsewhere")
            assert (root / "export2.jsonl").read_bytes() == exported

            again = import_jsonl(first, root / "export1.jsonl", namespace)
            assert (again.entities_created, again.observations_added, again.relations_created) == (0, 0, 0)
            export_jsonl(first, root / "export3.jsonl", namespace)
            assert (root / "export3.jsonl").read_bytes() == exported
        finally:
            first_db.close()
            second_db.close()
