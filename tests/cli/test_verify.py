"""``memory-system verify``: the runbook's checks pass only when the rollback really took."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from memory_system.store import migrations
from tests.conftest import CliRunner, free_port

ADMIN = "verify-admin-token-0123456789"


def _env() -> dict[str, str]:
    return {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}


def test_option_a_fails_while_flags_are_on_and_passes_after_rollback(
    live_server: Callable[..., str], cli: CliRunner, tmp_path: Path
) -> None:
    url = live_server(admin_token=ADMIN, embedder="none")
    db = str(tmp_path / "server0.db")
    httpx.post(url + "/v1/sessions", json={}, timeout=10)  # an active session that had the flags

    before = cli("verify", "--option", "a", "--url", url, env=_env())
    assert before.returncode == 1
    assert "FAIL USE_ENHANCED_INJECTION effective value is 0" in before.stdout

    # one flag rolled back: verifying that flag passes, verifying all three still fails
    cli("flags", "set", "USE_ENHANCED_INJECTION", "false", "--db", db, check=True)
    one = cli("verify", "--option", "a", "--flag", "USE_ENHANCED_INJECTION", "--url", url, env=_env())
    assert one.returncode == 0, one.stdout + one.stderr
    assert "injection uses the legacy path: POST /v1/inject -> HTTP 200, mode = legacy" in one.stdout
    assert cli("verify", "--option", "a", "--url", url, env=_env()).returncode == 1

    cli("flags", "rollback", "--db", db, check=True)
    after = cli("verify", "--option", "a", "--url", url, "--json", env=_env())
    assert after.returncode == 0, after.stdout + after.stderr
    assert '"ok": true' in after.stdout and "sharing calls are refused as disabled" in after.stdout


def test_option_a_without_the_admin_token_fails_its_checks(
    live_server: Callable[..., str], cli: CliRunner
) -> None:
    url = live_server(admin_token=ADMIN, embedder="none")
    result = cli("verify", "--option", "a", "--url", url)
    assert result.returncode == 1 and "FAIL" in result.stdout


def test_option_b_reports_version_and_schema(live_server: Callable[..., str], cli: CliRunner) -> None:
    url = live_server(admin_token=ADMIN, embedder="none")
    result = cli("verify", "--option", "b", "--url", url, env=_env())
    assert result.returncode == 0, result.stdout
    expected = migrations.expected_version()
    assert f"schema {expected} (current), expected {expected}" in result.stdout


def _open_sessions(db: Path, namespace: str) -> int:
    from memory_system.store.connection import open_connection

    conn = open_connection(db, create=False)
    try:
        row = conn.execute(
            "SELECT count(*) FROM sessions WHERE ended_at IS NULL AND namespace = ?", (namespace,)
        ).fetchone()
    finally:
        conn.close()
    return int(row[0])


def test_option_a_ends_its_probe_session_and_prints_manual_items(
    live_server: Callable[..., str], cli: CliRunner, tmp_path: Path
) -> None:
    from memory_system.ops.runbook.probe import PROBE_NAMESPACE

    url = live_server(admin_token=ADMIN, embedder="none")
    db = tmp_path / "server0.db"
    cli("flags", "rollback", "--db", str(db), check=True)
    for _ in range(2):
        result = cli("verify", "--option", "a", "--url", url, env=_env())
        assert result.returncode == 0, result.stdout + result.stderr
    assert _open_sessions(db, PROBE_NAMESPACE) == 0
    out = result.stdout
    assert "ok   sample session test: session opened, memory" in out and "0 memories left" in out
    assert "manual team notified via Slack" in out
    assert "manual no startup errors in the log: no log file known" in out
    assert "ok   injection p95 < 100 ms" in out and "ok   no CRITICAL alert firing" in out
    assert "ok   USE_ENHANCED_INJECTION false in every source: env -, config_file -, database 0" in out


def test_startup_errors_since_the_last_start_fail_the_log_item(tmp_path: Path) -> None:
    import json

    from memory_system.ops.runbook.service_checks import startup_log_check

    log = tmp_path / "app.log"
    lines = [
        {"timestamp": "t0", "level": "ERROR", "event": "old_trouble"},
        {"timestamp": "t1", "level": "INFO", "event": "service_starting"},
        {"timestamp": "t2", "level": "INFO", "event": "service_ready"},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert startup_log_check(log, "--log-file").ok  # the error before the last start is history
    with log.open("a") as out:
        out.write(
            json.dumps({"timestamp": "t3", "level": "CRITICAL", "event": "embedding_worker_crashed"}) + "\n"
        )
    seen = startup_log_check(log, "--log-file")
    assert not seen.ok and "1 ERROR/CRITICAL line(s) since t1" in seen.detail
    assert "embedding_worker_crashed" in seen.detail


def test_option_c_checks_the_file_the_rollback_left(
    migrated_db: Path, cli: CliRunner, fill_phase_data: Callable[[Path], None]
) -> None:
    from memory_system.ops import backup, db_rollback

    fill_phase_data(migrated_db)
    not_yet = cli("verify", "--option", "c", "--db", str(migrated_db), "--url", "")
    assert not_yet.returncode == 1
    assert "FAIL Phase 2-4 tables gone: still present:" in not_yet.stdout
    legacy_check = "FAIL schema in legacy mode (every base migration, no Phase 2-4 one): schema current"
    assert legacy_check in not_yet.stdout

    from memory_system.ops.approvals import DB_ROLLBACK
    from tests.ops._approvals import approved_request

    features = sorted(migrations.FEATURE_MIGRATIONS, reverse=True)
    requests = {
        m: approved_request(migrated_db, action=DB_ROLLBACK, migration=m, manager=f"M{m}", dba=f"D{m}")
        for m in features
    }
    taken = backup.create_backup(migrated_db)
    for migration in features:
        plan = db_rollback.plan_rollback(
            migrated_db, migration, backup_path=taken.path, request_id=requests[migration].request_id
        )
        assert db_rollback.execute_rollback(plan).verified
    done = cli("verify", "--option", "c", "--db", str(migrated_db), "--url", "", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    text = cli("verify", "--option", "c", "--db", str(migrated_db), "--url", "").stdout
    assert "ok   Phase 1 counts as recorded before the rollback: now" in text
    assert "ok   a backup that verifies:" in text and "ok   schema in legacy mode" in text

    newest = migrations.expected_version()  # the base migrations after 005 stay applied
    wrong = cli("verify", "--option", "c", "--db", str(migrated_db), "--url", "", "--schema-version", "5")
    assert wrong.returncode == 1 and f"FAIL schema version is 5: schema version {newest}" in wrong.stdout


def test_bad_option_and_unreachable_service_are_one_line_errors(cli: CliRunner) -> None:
    bad = cli("verify", "--option", "d")
    assert bad.returncode == 1 and "use a (flags), b (code) or c (database)" in bad.stderr
    down = cli("verify", "--option", "b", "--url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "cannot reach the service" in down.stderr
