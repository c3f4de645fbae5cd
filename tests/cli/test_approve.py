"""``tokens create --approver``, ``rollback c --request-approval``, ``approve``: the approval flow
as an operator and two approvers run it, and the tokens list and revoke that cover approvers."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CliRunner


def _approver(cli: CliRunner, db: Path, name: str, role: str) -> dict[str, str]:
    made = cli("tokens", "create", "--approver", name, "--role", role, "--db", str(db), "--json", check=True)
    created: dict[str, str] = json.loads(made.stdout)
    return created


def test_request_approve_and_list(cli: CliRunner, migrated_db: Path, fill_phase_data, tmp_path: Path) -> None:
    fill_phase_data(migrated_db)
    db = str(migrated_db)
    manager = _approver(cli, migrated_db, "Alice Manager", "manager")
    assert manager["token"].startswith("msa_") and manager["role"] == "manager"
    plain = cli("tokens", "create", "--approver", "Bob DBA", "--role", "dba", "--db", db, check=True)
    dba_token = plain.stdout.strip()
    assert dba_token.startswith("msa_") and "not shown again" in plain.stderr

    made = cli("rollback", "c", "--request-approval", "--reason", "tiers corrupt", "--db", db, check=True)
    assert "DATABASE ROLLBACK APPROVAL REQUEST #1" in made.stdout and "Reason: tiers corrupt" in made.stdout
    assert "memory-system approve --request 1" in made.stdout
    assert "memory-system rollback c --request 1" in made.stdout

    listed = json.loads(cli("approve", "--list", "--db", db, "--json", check=True).stdout)
    assert [r["id"] for r in listed] == [1] and listed[0]["missing_roles"] == ["manager", "dba"]
    assert listed[0]["template"]["impact"]["rows_lost"]["memories"] == 5

    by_env = cli(
        "approve", "--request", "1", "--db", db, env={"MEMORY_SYSTEM_APPROVER_TOKEN": manager["token"]}
    )
    assert by_env.returncode == 0 and "still waiting for: dba" in by_env.stderr, by_env.stderr
    token_file = tmp_path / "dba.token"
    token_file.write_text(dba_token + "\n")
    by_file = cli(
        "approve", "--request", "1", "--token-file", str(token_file), "--db", db, "--json", check=True
    )
    assert json.loads(by_file.stdout)["missing_roles"] == []
    text = cli("approve", "--list", "--db", db, check=True).stdout
    assert "Approved by: Alice Manager (manager), Bob DBA (dba)" in text


def test_approve_refusals_are_one_line_and_change_nothing(cli: CliRunner, migrated_db: Path) -> None:
    db = str(migrated_db)
    cli("rollback", "c", "--request-approval", "--reason", "r", "--db", db, check=True)
    no_token = cli("approve", "--request", "1", "--db", db, env={"MEMORY_SYSTEM_APPROVER_TOKEN": ""})
    assert no_token.returncode == 1 and "MEMORY_SYSTEM_APPROVER_TOKEN" in no_token.stderr
    wrong = cli("approve", "--request", "1", "--db", db, env={"MEMORY_SYSTEM_APPROVER_TOKEN": "msa_nope"})
    assert wrong.returncode == 1 and "unknown or revoked approver token" in wrong.stderr
    token = _approver(cli, migrated_db, "Carol", "dba")["token"]
    missing = cli("approve", "--request", "7", "--db", db, env={"MEMORY_SYSTEM_APPROVER_TOKEN": token})
    assert missing.returncode == 1 and "no approval request 7" in missing.stderr
    neither = cli("approve", "--db", db)
    assert neither.returncode == 1 and "--request ID" in neither.stderr
    no_reason = cli("rollback", "c", "--request-approval", "--db", db)
    assert no_reason.returncode == 1 and "--reason" in no_reason.stderr
    (pending,) = json.loads(cli("approve", "--list", "--db", db, "--json", check=True).stdout)
    assert pending["approvals"] == []


def test_tokens_list_and_revoke_cover_approvers(cli: CliRunner, migrated_db: Path) -> None:
    db = str(migrated_db)
    cli("tokens", "create", "--agent", "a1", "--db", db, check=True)
    dba = _approver(cli, migrated_db, "Dee", "dba")
    listed = json.loads(cli("tokens", "list", "--db", db, "--json", check=True).stdout)
    assert [(e["kind"], e.get("name") or e.get("agent_id")) for e in listed] == [
        ("agent", "a1"),
        ("approver", "Dee"),
    ]
    assert dba["token"] not in cli("tokens", "list", "--db", db, check=True).stdout
    revoked = cli("tokens", "revoke", dba["id"], "--db", db, check=True)
    assert "revoked approver" in revoked.stdout and "Dee (dba)" in revoked.stdout
    active = json.loads(cli("tokens", "list", "--active", "--db", db, "--json", check=True).stdout)
    assert [e["kind"] for e in active] == ["agent"]
    both = cli("tokens", "create", "--agent", "a1", "--approver", "X", "--role", "dba", "--db", db)
    assert both.returncode == 1 and "not both" in both.stderr
    no_role = cli("tokens", "create", "--approver", "X", "--db", db)
    assert no_role.returncode == 1 and "--role" in no_role.stderr


def test_db_rollback_takes_a_request_and_refuses_free_text(
    cli: CliRunner, migrated_db: Path, fill_phase_data
) -> None:
    fill_phase_data(migrated_db)
    db = str(migrated_db)
    backup = json.loads(cli("db", "backup", "--db", db, "--json", check=True).stdout)["path"]
    typed = cli(
        "db",
        "rollback",
        "--migration",
        "5",
        "--backup",
        backup,
        "--approved-by",
        "a",
        "--approved-by",
        "b",
        "--yes",
        "--db",
        db,
    )
    assert typed.returncode == 1 and "only with --emergency" in typed.stderr
    made = cli(
        "db",
        "rollback",
        "--migration",
        "5",
        "--backup",
        backup,
        "--request-approval",
        "--reason",
        "r",
        "--db",
        db,
        "--json",
        check=True,
    )
    request = json.loads(made.stdout)
    assert request["action"] == "db_rollback" and request["template"]["backup"]["path"] == backup
    for name, role in (("Ann", "manager"), ("Ben", "dba")):
        token = _approver(cli, migrated_db, name, role)["token"]
        cli(
            "approve",
            "--request",
            str(request["id"]),
            "--db",
            db,
            env={"MEMORY_SYSTEM_APPROVER_TOKEN": token},
            check=True,
        )
    done = cli(
        "db",
        "rollback",
        "--migration",
        "5",
        "--backup",
        backup,
        "--request",
        str(request["id"]),
        "--yes",
        "--db",
        db,
        "--json",
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["verified"] and result["approved_by"] == ["Ann (manager)", "Ben (dba)"]
    (used,) = json.loads(cli("approve", "--list", "--all", "--db", db, "--json", check=True).stdout)
    assert used["state"] == "used"
