"""``memory-system entities import|export|show`` as an operator runs them: real subprocesses."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

CliRunner = Callable[..., subprocess.CompletedProcess[str]]
Rows = Callable[[Path], object]

LINES = [
    {
        "type": "entity",
        "name": "John_Smith",
        "entityType": "person",
        "observations": ["Speaks fluent Spanish", "Graduated in 2019"],
    },
    {"type": "entity", "name": "Anthropic", "entityType": "organization", "observations": []},
    {"type": "relation", "from": "John_Smith", "to": "Anthropic", "relationType": "works_at"},
    {"type": "relation", "from": "John_Smith", "to": "Gone", "relationType": "knows"},
]


def write_jsonl(path: Path, items: list[object]) -> Path:
    path.write_text("".join(json.dumps(i, separators=(",", ":")) + "\n" for i in items), encoding="utf-8")
    return path


def test_import_show_export_round_trip(cli: CliRunner, migrated_db: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "memory.jsonl", LINES)
    imported = cli("entities", "import", str(source), "--namespace", "proj", "--db", str(migrated_db))
    assert imported.returncode == 0, imported.stderr
    summary = imported.stdout.strip().splitlines()
    assert len(summary) == 1
    assert "2 entities created" in summary[0] and "1 relations created" in summary[0]
    assert "1 relations skipped" in summary[0]
    assert "line 4" in imported.stderr and "'Gone'" in imported.stderr

    shown = cli("entities", "show", "--namespace", "proj", "--db", str(migrated_db))
    assert shown.returncode == 0, shown.stderr
    assert "John_Smith" in shown.stdout and "works_at" in shown.stdout
    assert shown.stdout.strip().splitlines()[-1] == (
        "namespace 'proj': 2 entities, 2 observations, 1 relations"
    )

    as_json = cli("entities", "show", "-n", "proj", "--json", "--query", "SPANISH", "--db", str(migrated_db))
    assert json.loads(as_json.stdout) == {
        "entities": [
            {
                "name": "John_Smith",
                "entityType": "person",
                "observations": ["Speaks fluent Spanish", "Graduated in 2019"],
            }
        ],
        "relations": [{"from": "John_Smith", "to": "Anthropic", "relationType": "works_at"}],
    }

    out = tmp_path / "export.jsonl"
    exported = cli("entities", "export", str(out), "-n", "proj", "--db", str(migrated_db))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"exported namespace 'proj' to {out}: 2 entities, 1 relations"
    assert set(out.read_text().splitlines()) == set(source.read_text().splitlines()[:3])

    other = cli("entities", "show", "--json", "--db", str(migrated_db))
    assert json.loads(other.stdout) == {"entities": [], "relations": []}  # namespace 'default' untouched


def test_import_json_summary_is_machine_readable(cli: CliRunner, migrated_db: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "memory.jsonl", LINES)
    proc = cli("entities", "import", str(source), "--json", "--db", str(migrated_db))
    data = json.loads(proc.stdout)
    assert data["entities_created"] == 2 and data["relations_skipped"] == [{"line": 4, "missing": "Gone"}]


def test_bad_line_fails_with_its_number_and_imports_nothing(
    cli: CliRunner, migrated_db: Path, tmp_path: Path, graph_rows: Rows
) -> None:
    before = graph_rows(migrated_db)
    source = tmp_path / "memory.jsonl"
    source.write_text(json.dumps(LINES[0]) + "\n" + json.dumps(LINES[1]) + "\n{oops\n", encoding="utf-8")
    proc = cli("entities", "import", str(source), "--db", str(migrated_db))
    assert proc.returncode == 1
    assert "line 3: not valid JSON" in proc.stderr and "nothing was imported" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert graph_rows(migrated_db) == before


def test_missing_file_unmigrated_database_and_bad_namespace_are_refused(
    cli: CliRunner, migrated_db: Path, tmp_path: Path, graph_rows: Rows
) -> None:
    before = graph_rows(migrated_db)
    missing = cli("entities", "import", str(tmp_path / "absent.jsonl"), "--db", str(migrated_db))
    assert missing.returncode == 1 and "no such file" in missing.stderr

    blank_ns = cli(
        "entities",
        "import",
        str(write_jsonl(tmp_path / "m.jsonl", LINES)),
        "--namespace",
        " ",
        "--db",
        str(migrated_db),
    )
    assert blank_ns.returncode == 1 and "namespace" in blank_ns.stderr
    assert graph_rows(migrated_db) == before

    empty_db = tmp_path / "empty.db"
    empty_db.write_bytes(b"")
    unmigrated = cli("entities", "show", "--db", str(empty_db))
    assert unmigrated.returncode == 1 and "db migrate" in unmigrated.stderr

    absent_db = cli("entities", "show", "--db", str(tmp_path / "nothing-here.db"))
    assert absent_db.returncode == 1 and "does not exist" in absent_db.stderr
    assert not (tmp_path / "nothing-here.db").exists()


def test_export_into_a_missing_directory_fails_and_writes_nothing(
    cli: CliRunner, migrated_db: Path, tmp_path: Path
) -> None:
    proc = cli("entities", "export", str(tmp_path / "no" / "dir.jsonl"), "--db", str(migrated_db))
    assert proc.returncode == 1 and "no such directory" in proc.stderr
    assert not (tmp_path / "no").exists()
