"""``memory-system incident``: list, show, note, close and postmortem as an operator runs
them (a subprocess on a real file), and the refusals: unknown id, closing a closed one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memory_system.ops import incidents


def _opened(db: Path) -> int:
    return incidents.open_incident(
        db,
        incident_type="auto_guard",
        severity="SEV2",
        title="Sharing errors over 10/min",
        reason="cross-agent sharing errors at 14/min",
        flags=["USE_CROSS_AGENT_SHARING"],
        opened_by="auto_guard",
    )


def test_note_close_list_show_and_postmortem(cli: Any, migrated_db: Path, tmp_path: Path) -> None:
    incident_id, db = _opened(migrated_db), str(migrated_db)
    listed = cli("incident", "list", "--status", "open", "--db", db, check=True).stdout
    assert "Sharing errors over 10/min" in listed and "SEV2" in listed

    noted = cli(
        "incident", "note", str(incident_id), "--by", "ann", "sharing off, errors stopped", "--db", db
    )
    assert noted.returncode == 0 and f"added to incident {incident_id}" in noted.stdout
    closed = cli(
        "incident", "close", str(incident_id), "--by", "ann", "--note", "fixed", "--db", db, check=True
    )
    assert f"incident {incident_id} closed at" in closed.stdout

    shown = json.loads(cli("incident", "show", str(incident_id), "--db", db, "--json", check=True).stdout)
    assert shown["status"] == "closed" and shown["ended_at"]
    assert [(n["author"], n["body"]) for n in shown["notes"]] == [
        ("ann", "sharing off, errors stopped"),
        ("ann", "fixed"),
    ]
    assert json.loads(cli("incident", "list", "--status", "open", "--db", db, "--json").stdout) == []

    out = tmp_path / "pm.md"
    cli("incident", "postmortem", str(incident_id), "--db", db, "--out", str(out), check=True)
    draft = out.read_text()
    assert "# Postmortem: Sharing errors over 10/min" in draft and "Due: " in draft
    assert "ann: sharing off, errors stopped" in draft


def test_refusals_are_one_line_and_change_nothing(cli: Any, migrated_db: Path) -> None:
    incident_id, db = _opened(migrated_db), str(migrated_db)
    cli("incident", "close", str(incident_id), "--by", "ann", "--db", db, check=True)
    before = incidents.get_incident(migrated_db, incident_id)

    again = cli("incident", "close", str(incident_id), "--by", "bob", "--db", db)
    assert again.returncode != 0 and "already closed" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    for args in (["show", "99"], ["close", "99", "--by", "ann"], ["note", "99", "x", "--by", "ann"]):
        unknown = cli("incident", *args, "--db", db)
        assert unknown.returncode != 0 and "no incident 99" in unknown.stderr, args

    bad = cli("incident", "list", "--status", "gone", "--db", db)
    assert bad.returncode != 0 and "--status must be open or closed" in bad.stderr
    blank = cli("incident", "note", str(incident_id), "   ", "--by", "ann", "--db", db)
    assert blank.returncode != 0 and "must not be empty" in blank.stderr
    assert incidents.get_incident(migrated_db, incident_id) == before
