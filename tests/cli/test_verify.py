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
    url = live_server(embedder="none")
    result = cli("verify", "--option", "b", "--url", url)
    assert result.returncode == 0
    expected = migrations.expected_version()
    assert f"schema {expected} (current), expected {expected}" in result.stdout


def test_option_c_checks_the_schema_version_the_rollback_left(migrated_db: Path, cli: CliRunner) -> None:
    current = str(migrations.expected_version())
    assert (
        cli(
            "verify", "--option", "c", "--db", str(migrated_db), "--url", "", "--schema-version", current
        ).returncode
        == 0
    )
    wrong = cli("verify", "--option", "c", "--db", str(migrated_db), "--url", "", "--schema-version", "3")
    assert wrong.returncode == 1 and f"FAIL schema version is 3: schema version {current}" in wrong.stdout


def test_bad_option_and_unreachable_service_are_one_line_errors(cli: CliRunner) -> None:
    bad = cli("verify", "--option", "d")
    assert bad.returncode == 1 and "use a (flags), b (code) or c (database)" in bad.stderr
    down = cli("verify", "--option", "b", "--url", f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1 and "cannot reach the service" in down.stderr
