"""Stop and start a real ``memory-system serve`` subprocess the way it was started."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_system.core.settings import Settings
from memory_system.ops import service_control as sc
from memory_system.ops import service_record as sr
from memory_system.store.lockfile import held_by_other


@pytest.fixture
def stop_at_end() -> Iterator[list[Path]]:
    """Databases whose service (started detached by ``start_service``) is stopped at teardown."""
    dbs: list[Path] = []
    yield dbs
    for db in dbs:
        sc.stop_service(db, timeout_s=15)


def test_serve_records_how_it_was_started(serve_process: Callable[..., Any]) -> None:
    served = serve_process(
        dev=True,
        env={"MEMORY_SYSTEM_ADMIN_TOKEN": "s3cret-admin-token-0123456789", "USE_HIERARCHICAL_TIERS": "0"},
    )
    path = sr.record_path(served.db)
    record = sr.read_start(served.db)
    assert record.pid == served.proc.pid
    assert record.program == [sys.executable, "-m", "memory_system"]
    assert record.args[0] == "serve" and "--dev" in record.args
    assert sr.service_url(record) == served.url
    assert record.env["USE_HIERARCHICAL_TIERS"] == "0"
    assert record.env["MEMORY_SYSTEM_EMBEDDER"] == "none"
    assert record.systemd_unit is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the admin token
    assert record.redacted()["env"]["MEMORY_SYSTEM_ADMIN_TOKEN"] == "***"
    assert "s3cret-admin-token-0123456789" not in served.log_file.read_text()


def test_stop_drains_and_frees_the_lock_then_start_runs_it_again(
    serve_process: Callable[..., Any], stop_at_end: list[Path]
) -> None:
    served = serve_process(dev=True)
    assert httpx.post(
        served.url + "/v1/entities", json={"entities": [{"name": "kept", "entityType": "t"}]}
    ).is_success
    stopped = sc.stop_service(served.db, timeout_s=20)
    assert stopped.was_running and stopped.method == "SIGTERM" and stopped.pid == served.proc.pid
    assert served.wait(10) == 0  # a clean drain
    assert not held_by_other(served.db)

    stop_at_end.append(served.db)
    started = sc.start_service(served.db, wait_ready_s=60)
    assert started.pid != served.proc.pid and started.url == served.url
    assert started.ready["status"] == "ready"
    assert sr.read_start(served.db).pid == started.pid
    names = [e["name"] for e in httpx.get(served.url + "/v1/graph").json()["entities"]]
    assert "kept" in names

    again = sc.restart_service(served.db)
    assert again.stop.pid == started.pid and again.start.pid not in (None, started.pid)
    assert 0 < again.downtime_s >= again.start.seconds
    assert httpx.get(served.url + "/health/ready").status_code == 200


def test_stop_when_nothing_runs_says_so(tmp_path: Path) -> None:
    result = sc.stop_service(tmp_path / "memory.db", timeout_s=1)
    assert not result.was_running and result.method == "not running"


def test_a_service_that_does_not_drain_is_killed_and_the_result_says_so(tmp_path: Path) -> None:
    db = tmp_path / "memory.db"
    code = (
        "import signal, sys, time; from memory_system.store.lockfile import ServiceLock; "
        "signal.signal(signal.SIGTERM, signal.SIG_IGN); ServiceLock(sys.argv[1]).acquire(); "
        "print('held', flush=True); time.sleep(120)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        result = sc.stop_service(db, timeout_s=0.5)
        assert result.method == "SIGKILL" and "killed" in result.detail
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_start_without_a_record_names_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(sr.ServiceControlError, match="memory-system serve"):
        sc.start_service(tmp_path / "memory.db")


def test_start_refuses_while_the_service_runs(serve_process: Callable[..., Any]) -> None:
    served = serve_process(dev=True)
    with pytest.raises(sr.ServiceControlError, match="already holds"):
        sc.start_service(served.db)


def test_a_start_that_fails_shows_the_console_tail(serve_process: Callable[..., Any]) -> None:
    served = serve_process(dev=True)
    sc.stop_service(served.db, timeout_s=20)
    with pytest.raises(sr.ServiceControlError, match="exited with"):
        sc.start_service(served.db, extra_args=("--no-such-option",), wait_ready_s=30)


def test_args_added_and_dropped() -> None:
    record = sr.StartRecord(
        1, ["ms"], ["serve", "--dev", "--no-migrate"], "/", {}, "0.0.0.0", 1, "d", None, "", "", ""
    )
    assert sc._args_for(record, ("--migrate",), ("--no-migrate",)) == ["serve", "--dev", "--migrate"]
    assert sr.service_url(record) == "http://127.0.0.1:1"


def test_under_systemd_the_record_names_the_unit(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "memory.db")
    sr.record_start(
        settings, ["/x/bin/memory-system", "serve"], {"INVOCATION_ID": "abc", "PYTHONPATH": "/no"}
    )
    record = sr.read_start(settings.db_path)
    assert record.systemd_unit and record.systemd_unit.endswith(".service")
    assert "PYTHONPATH" not in record.env and record.pid == os.getpid()
    sr.record_start(settings, ["x"], {"MEMORY_SYSTEM_SYSTEMD_UNIT": "ms-blue.service"})
    assert sr.read_start(settings.db_path).systemd_unit == "ms-blue.service"
