"""``memory-system rollout``: through the running service's admin API when one answers, else
on the database (which a service started later drives); bad input is one line, exit 1,
nothing changed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memory_system.flags.service import FlagService
from memory_system.store.connection import Database
from tests.conftest import CliRunner, free_port

DOWN = f"http://127.0.0.1:{free_port()}"  # nothing listens there: the service is down
ADMIN = "rollout-cli-admin-token-0123456789"
FLAG = "USE_CROSS_AGENT_SHARING"


def _flag(db: Path) -> float:
    database = Database(db)
    try:
        return FlagService(database, {}, None, cache_s=0).value(FLAG)
    finally:
        database.close()


def test_through_the_running_service_start_status_pause_resume_abort(
    serve_process: Callable[..., Any], cli: CliRunner
) -> None:
    served = serve_process(config={"rolloutCheckIntervalS": 0.2}, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    env = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}
    common = ("--url", served.url, "--db", str(served.db))

    started = cli(
        "rollout", "start", FLAG, "--steps", "0.1,0.5,1", "--hold", "1h", "--actor", "alice", *common, env=env
    )
    assert started.returncode == 0, started.stderr
    assert f"{FLAG}: rollout #1 running at 0.1 (step 1/3), next 0.5 at" in started.stdout
    assert "not reachable" not in started.stderr

    status = cli("rollout", "status", "--json", *common, env=env, check=True)
    body = json.loads(status.stdout)
    assert body["service"]["reachable"] is True
    assert [(r["flag"], r["state"], r["value"]) for r in body["rollouts"]] == [(FLAG, "running", 0.1)]

    paused = cli("rollout", "pause", FLAG, "--reason", "watching errors", *common, env=env, check=True)
    assert "paused at 0.1" in paused.stdout and "watching errors" in paused.stdout
    assert cli("rollout", "resume", FLAG, *common, env=env, check=True).returncode == 0
    aborted = cli("rollout", "abort", FLAG, "--reason", "enough", *common, env=env, check=True)
    assert "aborted at 0.1" in aborted.stdout and _flag(served.db) == 0.0

    shown = cli("rollout", "status", FLAG, *common, env=env, check=True).stdout
    for event in ("started", "paused", "resumed", "aborted"):
        assert event in shown
    refused = cli("rollout", "pause", FLAG, *common, env=env)
    assert refused.returncode == 1 and "no running or paused rollout" in refused.stderr
    assert "changed nothing" in refused.stderr


def test_a_wrong_token_is_an_error_not_a_silent_database_write(
    serve_process: Callable[..., Any], cli: CliRunner
) -> None:
    served = serve_process(env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    env = {"MEMORY_SYSTEM_ADMIN_TOKEN": "wrong-token-0123456789"}
    refused = cli("rollout", "start", FLAG, "--url", served.url, "--db", str(served.db), env=env)
    assert refused.returncode == 1 and "refused the admin API (HTTP 401); check the token" in refused.stderr
    assert _flag(served.db) == 1.0


def test_with_the_service_down_it_writes_the_database_and_a_service_started_later_drives_it(
    migrated_db: Path, cli: CliRunner, serve_process: Callable[..., Any]
) -> None:
    common = ("--url", DOWN, "--db", str(migrated_db))
    started = cli("rollout", "start", FLAG, "--steps", "0.2,1", "--hold", "0.5", *common)
    assert started.returncode == 0, started.stderr
    assert "not reachable" in started.stderr and "running at 0.2" in started.stdout
    assert _flag(migrated_db) == 0.2

    serve_process(config={"rolloutCheckIntervalS": 0.2}, db=migrated_db)
    deadline = time.monotonic() + 30
    while _flag(migrated_db) != 1.0:
        assert time.monotonic() < deadline, cli("rollout", "status", *common).stdout
        time.sleep(0.1)
    body = json.loads(cli("rollout", "status", FLAG, "--json", *common, check=True).stdout)
    assert body["rollouts"][0]["state"] == "completed"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("start", "USE_NOTHING"), "unknown feature flag 'USE_NOTHING'"),
        (("start", FLAG, "--steps", "0.5,0.1"), "--steps: steps must rise"),
        (("start", FLAG, "--steps", "0,1"), "outside (0, 1]"),
        (("start", FLAG, "--steps", "10%,100%"), "write the fraction"),
        (("start", FLAG, "--hold", "an hour"), "--hold: hold 'an hour' is not a duration"),
        (("pause", FLAG), "no running or paused rollout of USE_CROSS_AGENT_SHARING to pause"),
        (("resume", FLAG), "no running or paused rollout"),
        (("abort", FLAG), "no running or paused rollout"),
        (("status", "USE_NOTHING"), "unknown feature flag"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_changes_nothing(
    migrated_db: Path, cli: CliRunner, args: tuple[str, ...], says: str
) -> None:
    refused = cli("rollout", *args, "--url", DOWN, "--db", str(migrated_db))
    assert refused.returncode == 1, refused.stdout
    lines = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and says in lines[0], refused.stderr
    assert _flag(migrated_db) == 1.0


def test_a_second_rollout_of_a_flag_is_refused(migrated_db: Path, cli: CliRunner) -> None:
    common = ("--url", DOWN, "--db", str(migrated_db))
    cli("rollout", "start", FLAG, "--steps", "0.1,1", *common, check=True)
    second = cli("rollout", "start", FLAG, "--steps", "0.3,1", *common)
    assert second.returncode == 1 and "already has a running rollout" in second.stderr
    assert _flag(migrated_db) == 0.1
