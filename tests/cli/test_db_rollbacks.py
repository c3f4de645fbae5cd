"""``memory-system db rollbacks``: the rollback records and data-loss records, from the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memory_system.ops import backup as backups
from memory_system.ops import schema
from memory_system.ops.approvals import DB_ROLLBACK
from memory_system.store.connection import open_connection, transaction
from tests.ops._approvals import approved_request

APPROVED_BY = ["Alice Manager (manager)", "Bob DBA (dba)"]


def _rolled_back(db: Path, fill_phase_data: Any, cli: Any) -> Path:
    schema.migrate(db, skip=frozenset({5}))  # 004 the newest feature migration; 006 for the approvals
    fill_phase_data(db)
    request = approved_request(db, action=DB_ROLLBACK, migration=4).request_id
    made = backups.create_backup(db)
    cli(
        "db", "rollback", "--migration", "4", "--db", str(db), "--backup", str(made.path),
        "--request", str(request), "--yes", check=True,
    )  # fmt: skip
    return made.path


def test_list_and_show_a_rollback_record(cli: Any, db_file: Path, fill_phase_data: Any) -> None:
    backup = _rolled_back(db_file, fill_phase_data, cli)

    (record,) = json.loads(cli("db", "rollbacks", "--db", str(db_file), "--json", check=True).stdout)[
        "rollbacks"
    ]
    assert record["migration"] == 4 and record["approved_by"] == APPROVED_BY
    assert record["emergency"] is False and record["backup_path"] == str(backup.resolve())
    assert record["rows_lost"]["memories"] == 5 and record["details"]["verified"] is True

    text = cli("db", "rollbacks", "--db", str(db_file), env={"COLUMNS": "80"}, check=True).stdout
    assert record["created_at"] in text and str(backup.resolve()) in text  # never cut
    assert ", ".join(APPROVED_BY) in text and "memories 5" in text and "no data loss recorded" in text

    shown = cli("db", "rollbacks", "show", str(record["id"]), "--db", str(db_file), check=True).stdout
    assert f"rollback record {record['id']}: migration 004" in shown
    assert "verified: yes" in shown and record["details"]["backup_sha256"] in shown
    as_option = cli("db", "rollbacks", "--id", str(record["id"]), "--db", str(db_file), "--json", check=True)
    assert json.loads(as_option.stdout) == record


def test_data_loss_recorded_by_an_incident_is_listed(cli: Any, migrated_db: Path) -> None:
    conn = open_connection(migrated_db, create=False)
    with transaction(conn):
        conn.execute(
            "INSERT INTO incidents (incident_type, data_loss) VALUES ('rollback_c', ?)",
            (json.dumps({"memories": 12}),),
        )
    conn.close()
    log = json.loads(cli("db", "rollbacks", "--db", str(migrated_db), "--json", check=True).stdout)
    assert log["rollbacks"] == []
    assert [(i["incident_type"], i["data_loss"]) for i in log["data_loss"]] == [
        ("rollback_c", {"memories": 12})
    ]
    text = cli("db", "rollbacks", "--db", str(migrated_db), check=True).stdout
    assert "no rollback recorded" in text and "rollback_c" in text and '"memories": 12' in text


def test_an_unknown_record_or_database_says_what_to_do(cli: Any, migrated_db: Path, tmp_path: Path) -> None:
    proc = cli("db", "rollbacks", "show", "7", "--db", str(migrated_db))
    assert proc.returncode == 1 and "no rollback record 7" in proc.stderr and "db rollbacks" in proc.stderr
    proc = cli("db", "rollbacks", "--db", str(tmp_path / "nope.db"))
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    early = tmp_path / "early.db"
    schema.migrate(early, to=2)
    proc = cli("db", "rollbacks", "--db", str(early))
    assert proc.returncode == 1 and "db migrate" in proc.stderr
