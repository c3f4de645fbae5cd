"""``memory-system db ...`` as an operator runs it: real subprocesses on real files.

The first test is the issue's "done when" sequence end to end; the rest prove that bad
input gets one clear line, a non-zero exit, and leaves the database as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from memory_system.ops import schema
from memory_system.ops.approvals import DB_ROLLBACK
from memory_system.store import inventory, migrations
from memory_system.store.connection import open_connection
from tests.ops._approvals import approved_request

APPROVALS = ["--request", "1"]  # the request ``ready`` makes, approved by a manager and a DBA


def _tables(db: Path) -> set[str]:
    conn = open_connection(db, create=False)
    try:
        return set(inventory.user_tables(conn))
    finally:
        conn.close()


def _counts(db: Path, tables: list[str]) -> dict[str, int]:
    conn = open_connection(db, create=False)
    try:
        return inventory.row_counts(conn, tables)
    finally:
        conn.close()


def _bytes(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_migrate_write_backup_impact_rollback_check_restore_end_to_end(
    cli, tmp_path: Path, fill_phase_data
) -> None:
    db = tmp_path / "fresh" / "dir" / "memory.db"
    phase_2 = sorted(inventory.tables_created_by(4))
    cli("db", "migrate", "--db", str(db), check=True)
    graph = tmp_path / "memory.jsonl"
    graph.write_text(
        "\n".join(
            json.dumps(line)
            for line in [
                {
                    "type": "entity",
                    "name": "alice",
                    "entityType": "person",
                    "observations": ["likes tea", "writes Go"],
                },
                {"type": "entity", "name": "bob", "entityType": "person", "observations": ["on call"]},
                {"type": "relation", "from": "alice", "to": "bob", "relationType": "knows"},
            ]
        )
        + "\n"
    )
    cli("entities", "import", str(graph), "--db", str(db), check=True)  # entity writes, as a user makes them
    fill_phase_data(db, phase_1=False)  # Phase 2-4 rows
    phase_1 = _counts(db, list(inventory.PHASE_1_TABLES))
    assert phase_1 == {"entities": 2, "relations": 1, "observations": 3}
    stored = _counts(db, phase_2)
    assert stored["memories"] == 5
    requests = {  # one approved request per rollback
        v: ["--request", str(approved_request(db, action=DB_ROLLBACK, migration=v).request_id)]
        for v in sorted(migrations.FEATURE_MIGRATIONS)
    }

    backup = json.loads(cli("db", "backup", "--db", str(db), "--json", check=True).stdout)
    assert Path(backup["path"]).exists() and backup["integrity_check"] == "ok"
    assert backup["row_counts"]["memories"] == 5

    impact = json.loads(
        cli("db", "impact", "--db", str(db), "--migration", "004", "--json", check=True).stdout
    )
    assert {t["table"]: t["rows"] for t in impact["tables"]} == stored

    for newer in sorted(migrations.FEATURE_MIGRATIONS - {4}, reverse=True):  # the runbook: newest first
        cli(
            "db",
            "rollback",
            "--db",
            str(db),
            "--migration",
            f"{newer:03d}",
            "--backup",
            backup["path"],
            *requests[newer],
            "--yes",
            check=True,
        )
    done = cli(
        "db",
        "rollback",
        "--db",
        str(db),
        "--migration",
        "004",
        "--backup",
        backup["path"],
        *requests[4],
        "--yes",
        "--json",
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["verified"] and result["rows_lost"] == stored
    assert not set(phase_2) & _tables(db)
    assert _counts(db, list(inventory.PHASE_1_TABLES)) == phase_1

    assert (
        cli("db", "check", "--db", str(db), check=True)
        .stdout.strip()
        .endswith("integrity ok, foreign keys ok")
    )
    status = json.loads(cli("db", "status", "--db", str(db), "--json").stdout)
    assert status["state"] == "legacy" and status["mode"] == "legacy (Phase 2-4 rolled back)"
    assert sorted(m["version"] for m in status["applied"]) == sorted(
        set(range(1, migrations.expected_version() + 1)) - migrations.FEATURE_MIGRATIONS
    )

    cli("db", "restore", backup["path"], "--db", str(db), "--yes", check=True)
    assert set(phase_2) <= _tables(db)
    assert _counts(db, phase_2) == stored
    assert _counts(db, list(inventory.PHASE_1_TABLES)) == phase_1
    cli("db", "check", "--db", str(db), check=True)
    status = json.loads(cli("db", "status", "--db", str(db), "--json").stdout)
    assert status["current_version"] == migrations.expected_version()


def test_backup_prints_its_path_and_a_summary(cli, migrated_db: Path) -> None:
    proc = cli("db", "backup", "--db", str(migrated_db), check=True)
    path = Path(proc.stdout.strip())
    assert path.parent == migrated_db.parent / "backups" and path.exists()
    assert proc.stderr.startswith("backup ok:") and "integrity ok" in proc.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["backup"],
        ["check"],
        ["impact", "--migration", "4"],
        ["rollback", "--migration", "4", *APPROVALS, "--yes"],
    ],
)
def test_a_db_that_is_not_sqlite_is_refused_unchanged(cli, tmp_path: Path, command: list[str]) -> None:
    text = tmp_path / "memory.db"
    text.write_text("name,value\nnot,sqlite\n")
    proc = cli("db", *command, "--db", str(text))
    _one_line_error(proc, "is not a SQLite database")
    assert text.read_text() == "name,value\nnot,sqlite\n"
    assert {p.name for p in tmp_path.iterdir()} - {"home"} == {"memory.db"}


@pytest.fixture
def ready(cli, db_file: Path, fill_phase_data) -> tuple[Path, str]:
    """A database at 004 (the rollback these tests are about), with rows in every table, and
    request 1 to roll 004 back, approved by a manager and a DBA (006 holds the approvals)."""
    schema.migrate(db_file, skip=frozenset({5}))
    fill_phase_data(db_file)
    assert approved_request(db_file, action=DB_ROLLBACK, migration=4).request_id == 1
    return db_file, cli("db", "backup", "--db", str(db_file), check=True).stdout.strip()


def test_rollback_refusals_name_the_problem_and_change_nothing(cli, ready, tmp_path: Path) -> None:
    db, backup = ready
    before = _bytes(db)
    cases = [
        (["--backup", backup, "--approved-by", "alice", "--approved-by", "bob"], "only with --emergency"),
        (["--backup", backup], "needs an approval request"),
        (["--backup", backup, "--request", "2"], "no approval request 2"),
        ([*APPROVALS], "needs --backup PATH"),
        (["--backup", str(tmp_path / "missing.db"), *APPROVALS], "does not exist"),
    ]
    for extra, fragment in cases:
        proc = cli("db", "rollback", "--db", str(db), "--migration", "004", *extra, "--yes")
        _one_line_error(proc, fragment)
    assert _bytes(db) == before


def test_rollback_without_confirmation_on_stdin_is_refused(cli, ready) -> None:
    db, backup = ready
    before = _bytes(db)
    proc = cli(
        "db", "rollback", "--db", str(db), "--migration", "004", "--backup", backup, *APPROVALS, input=""
    )
    assert proc.returncode == 1 and "pass --yes" in proc.stderr
    assert f"from {db}? [y/N]" in proc.stderr  # the question, asked on stderr
    assert "memories" in proc.stdout  # the impact was shown first
    proc = cli(
        "db", "rollback", "--db", str(db), "--migration", "004", "--backup", backup, *APPROVALS, input="n\n"
    )
    assert proc.returncode == 1 and "not confirmed" in proc.stderr
    assert _bytes(db) == before
    proc = cli(
        "db", "rollback", "--db", str(db), "--migration", "004", "--backup", backup, *APPROVALS, input="yes\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "memories" not in _tables(db)
    summary = proc.stdout.strip().splitlines()[-1]  # one line, however long
    assert re.match(r"rolled back migration 004: \d+ rows dropped, integrity ok, .* rollback #1 in ", summary)


def test_rollback_of_a_migration_that_is_not_applied(cli, db_file: Path) -> None:
    cli("db", "migrate", "--db", str(db_file), "--to", "3", check=True)
    backup = cli("db", "backup", "--db", str(db_file), check=True).stdout.strip()
    before = _bytes(db_file)
    proc = cli(
        "db", "rollback", "--db", str(db_file), "--migration", "004", "--backup", backup, *APPROVALS, "--yes"
    )
    _one_line_error(proc, "migration 004 is not applied")
    _one_line_error(cli("db", "impact", "--db", str(db_file), "--migration", "004"), "is not applied")
    assert _bytes(db_file) == before


def test_emergency_rollback_is_logged_at_critical(cli, ready) -> None:
    db, _ = ready
    proc = cli(
        "db",
        "rollback",
        "--db",
        str(db),
        "--migration",
        "004",
        "--approved-by",
        "alice",
        "--emergency",
        "--yes",
    )
    assert proc.returncode == 0, proc.stderr
    assert "EMERGENCY rollback" in proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    emergency = [e for e in events if e["event"] == "db_rollback_emergency"]
    assert emergency and emergency[0]["level"] == "CRITICAL" and len(emergency[0]["waived"]) == 2


def test_backup_into_a_directory_that_cannot_exist(cli, migrated_db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file: nothing, not even root, can create a directory under it")
    _one_line_error(
        cli("db", "backup", "--db", str(migrated_db), "--dest", str(blocker / "backups")),
        "cannot create backup directory",
        "--dest",
    )
    assert blocker.is_file()


def test_an_empty_path_is_refused_not_taken_as_the_current_directory(cli, migrated_db: Path) -> None:
    here = set(Path.cwd().iterdir())
    for args in (
        ("db", "backup", "--db", str(migrated_db), "--dest", ""),
        ("db", "status", "--db", ""),
        ("db", "restore", "", "--db", str(migrated_db)),
    ):
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "must not be empty" in proc.stderr, proc.stderr
    assert set(Path.cwd().iterdir()) == here  # no backup, manifest or database appeared here


def test_check_exits_1_naming_a_dangling_relation(cli, migrated_db: Path, fill_phase_data) -> None:
    fill_phase_data(migrated_db)
    conn = open_connection(migrated_db, create=False)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DELETE FROM entities WHERE id = 3")
    conn.close()
    proc = cli("db", "check", "--db", str(migrated_db))
    assert proc.returncode == 1
    assert "foreign_key_check: table relations row 2 references a missing row in entities" in proc.stderr


def test_restore_refusals(cli, ready, hold_service_lock, tmp_path: Path) -> None:
    db, backup = ready
    before = _bytes(db)
    _one_line_error(
        cli("db", "restore", str(tmp_path / "missing.db"), "--db", str(db), "--yes"), "does not exist"
    )
    corrupted = tmp_path / "corrupted.db"
    data = bytearray(Path(backup).read_bytes())
    data[5000] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    Path(str(corrupted) + ".manifest.json").write_text(Path(backup + ".manifest.json").read_text())
    _one_line_error(cli("db", "restore", str(corrupted), "--db", str(db), "--yes"), "checksum")
    hold_service_lock(db)
    _one_line_error(cli("db", "restore", backup, "--db", str(db), "--yes"), "held by a running service")
    assert _bytes(db) == before
    proc = cli("db", "restore", backup, "--db", str(db), "--yes", "--force")
    assert proc.returncode == 0, proc.stderr


def test_every_db_command_documents_its_exit_codes() -> None:
    from typer.testing import CliRunner

    from memory_system.cli import app

    for command in ("backup", "check", "impact", "rollback", "restore"):
        result = CliRunner().invoke(app, ["db", command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and "Exit" in result.output, command


def test_restore_through_a_symlinked_db_path_acts_on_the_live_file(
    cli, ready, hold_service_lock, tmp_path: Path
) -> None:
    """A link to the live database is the live database: the service's lock is seen through
    it, and a restore replaces the file it points to, leaving the link a link."""
    db, backup = ready
    link = tmp_path / "via-link.db"
    link.symlink_to(db)
    before = _bytes(db)
    holder = hold_service_lock(db)
    _one_line_error(cli("db", "restore", backup, "--db", str(link), "--yes"), "held by a running service")
    assert _bytes(db) == before and link.is_symlink()
    holder.kill()
    holder.wait(timeout=30)
    inode = db.stat().st_ino
    proc = cli("db", "restore", backup, "--db", str(link), "--yes")
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and link.resolve() == db.resolve()
    assert db.stat().st_ino != inode, "the live file was not the one replaced"
    assert list(tmp_path.glob("via-link.db.before-restore-*")) == []
