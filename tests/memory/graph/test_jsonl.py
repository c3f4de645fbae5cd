"""memory.jsonl import and export: the reference server's file format, all or nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memory_system.memory.graph.entities import Entity, KnowledgeGraph, Relation
from memory_system.memory.graph.jsonl import JsonlError, export_jsonl, import_jsonl
from memory_system.store.connection import Database

REFERENCE_FILE = "\n".join(
    json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    for line in [
        {
            "type": "entity",
            "name": "John_Smith",
            "entityType": "person",
            "observations": ["Speaks fluent Spanish", "Graduated in 2019"],
        },
        {"type": "entity", "name": "Anthropic", "entityType": "organization", "observations": []},
        {"type": "entity", "name": "Zoë", "entityType": "person", "observations": ["écrit en français"]},
        {"type": "relation", "from": "John_Smith", "to": "Anthropic", "relationType": "works_at"},
        {"type": "relation", "from": "Zoë", "to": "John_Smith", "relationType": "knows"},
    ]
)  # as the reference writes it: no newline after the last line


Rows = Callable[[Path], object]


@pytest.fixture
def graph(migrated_db: Path) -> Iterator[KnowledgeGraph]:
    db = Database(migrated_db)
    yield KnowledgeGraph(db)
    db.close()


def lines_of(path: Path) -> set[str]:
    return {line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def test_round_trip_import_export_gives_the_same_lines(graph: KnowledgeGraph, tmp_path: Path) -> None:
    source = tmp_path / "memory.jsonl"
    source.write_text(REFERENCE_FILE, encoding="utf-8")
    summary = import_jsonl(graph, source, "proj")
    assert (summary.entities_created, summary.observations_added, summary.relations_created) == (3, 3, 2)
    assert summary.relations_skipped == []
    out = tmp_path / "out" / "memory.jsonl"
    out.parent.mkdir()
    exported = export_jsonl(graph, out, "proj")
    assert (exported.entities, exported.relations) == (3, 2)
    assert lines_of(out) == lines_of(source)  # byte for byte, as the reference server writes lines
    assert "Zoë" in out.read_text(encoding="utf-8")  # UTF-8, not \u escapes, as JSON.stringify writes
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert list(first) == ["type", "name", "entityType", "observations"]


def test_importing_twice_changes_nothing_and_merges_new_observations(
    graph: KnowledgeGraph, tmp_path: Path, migrated_db: Path, graph_rows: Rows
) -> None:
    source = tmp_path / "memory.jsonl"
    source.write_text(REFERENCE_FILE, encoding="utf-8")
    import_jsonl(graph, source)
    before = graph_rows(migrated_db)
    again = import_jsonl(graph, source)
    assert (again.entities_created, again.entities_merged, again.observations_added) == (0, 3, 0)
    assert (again.relations_created, again.relations_existing) == (0, 2)
    assert graph_rows(migrated_db) == before
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps(
            {"type": "entity", "name": "Anthropic", "entityType": "company", "observations": ["Makes Claude"]}
        )
        + "\n",
        encoding="utf-8",
    )
    merged = import_jsonl(graph, extra)
    assert (merged.entities_merged, merged.observations_added) == (1, 1)
    assert graph.open_nodes(["Anthropic"]).entities[0] == Entity(
        "Anthropic", "organization", ("Makes Claude",)
    )


def test_relation_with_a_missing_endpoint_is_skipped_and_reported_by_line(
    graph: KnowledgeGraph, tmp_path: Path
) -> None:
    graph.create_entities([Entity("Existing", "thing")])
    source = tmp_path / "memory.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"type": "entity", "name": "A", "entityType": "t", "observations": []}),
                "",
                json.dumps({"type": "relation", "from": "A", "to": "Existing", "relationType": "uses"}),
                json.dumps({"type": "relation", "from": "A", "to": "Gone", "relationType": "uses"}),
                json.dumps({"type": "relation", "from": "Nowhere", "to": "A", "relationType": "uses"}),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    summary = import_jsonl(graph, source)
    assert summary.relations_created == 1
    assert summary.relations_skipped == [(4, "Gone"), (5, "Nowhere")]
    assert graph.read_graph().relations == (Relation("A", "Existing", "uses"),)


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "line 3: not valid JSON"),
        ("[1, 2]", "line 3: expected a JSON object"),
        (json.dumps({"type": "node", "name": "x"}), "line 3: field 'type'"),
        (json.dumps({"type": "entity", "entityType": "t", "observations": []}), "line 3: field 'name'"),
        (
            json.dumps({"type": "entity", "name": "x", "entityType": "t", "observations": "one"}),
            "line 3: field 'observations'",
        ),
        (
            json.dumps({"type": "entity", "name": "", "entityType": "t", "observations": []}),
            "line 3: field 'name' must not be empty",
        ),
        (json.dumps({"type": "relation", "from": "a", "to": "b"}), "line 3: field 'relationType'"),
        (
            json.dumps({"type": "relation", "from": "a", "to": " ", "relationType": "r"}),
            "line 3: field 'to' must not be empty",
        ),
        (
            '{"type":"entity","name":"\\ud800","entityType":"t","observations":[]}',
            "line 3: field 'name' has a lone surrogate (U+D800) at character 0",
        ),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_imported(
    graph: KnowledgeGraph,
    tmp_path: Path,
    migrated_db: Path,
    graph_rows: Rows,
    bad_line: str,
    message: str,
) -> None:
    graph.create_entities([Entity("Before", "t", ("kept",))])
    before = graph_rows(migrated_db)
    source = tmp_path / "memory.jsonl"
    good = json.dumps({"type": "entity", "name": "New", "entityType": "t", "observations": ["o"]})
    source.write_text(
        "\n".join([good, good.replace("New", "New2"), bad_line, good.replace("New", "New3")]),
        encoding="utf-8",
    )
    with pytest.raises(JsonlError) as err:
        import_jsonl(graph, source)
    assert str(err.value).startswith(message), str(err.value)
    assert graph_rows(migrated_db) == before


def test_unreadable_files_are_clear_errors(
    graph: KnowledgeGraph, tmp_path: Path, migrated_db: Path, graph_rows: Rows
) -> None:
    before = graph_rows(migrated_db)
    with pytest.raises(JsonlError, match="no such file"):
        import_jsonl(graph, tmp_path / "absent.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(JsonlError, match="not UTF-8"):
        import_jsonl(graph, binary)
    assert graph_rows(migrated_db) == before


def test_export_replaces_the_target_atomically_and_leaves_no_temp_files(
    graph: KnowledgeGraph, tmp_path: Path
) -> None:
    graph.create_entities([Entity("A", "t", ("one",))])
    target = tmp_path / "memory.jsonl"
    target.write_text("old content\n", encoding="utf-8")
    os.chmod(target, 0o640)
    export_jsonl(graph, target)
    assert lines_of(target) == {'{"type":"entity","name":"A","entityType":"t","observations":["one"]}'}
    assert os.stat(target).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "memory.db",
        "memory.db-shm",
        "memory.db-wal",
        "memory.jsonl",
    ]


def test_export_to_a_bad_place_is_refused_and_leaves_the_directory_alone(
    graph: KnowledgeGraph, tmp_path: Path
) -> None:
    with pytest.raises(JsonlError, match="no such directory"):
        export_jsonl(graph, tmp_path / "missing" / "memory.jsonl")
    with pytest.raises(JsonlError, match="is a directory"):
        export_jsonl(graph, tmp_path)
    assert not (tmp_path / "missing").exists()


def test_export_of_an_empty_namespace_is_an_empty_file(graph: KnowledgeGraph, tmp_path: Path) -> None:
    graph.create_entities([Entity("A", "t")], "other")
    summary = export_jsonl(graph, tmp_path / "empty.jsonl")
    assert (summary.entities, summary.relations) == (0, 0)
    assert (tmp_path / "empty.jsonl").read_text() == ""
