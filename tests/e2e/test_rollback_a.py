"""``rollback a`` against a real ``memory-system serve`` under live traffic: the share of
sessions with each flag drops to 0, the procedure verifies, and the traffic sees no error."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from memory_system.client import MemoryClient, RetryPolicy
from memory_system.flags.names import FLAG_NAMES
from tests.conftest import CliRunner, ServedProcess
from tests.e2e._service import ADMIN, mint_token


class Traffic:
    """One agent injecting and searching in a session, as fast as it can, until stopped."""

    def __init__(self, url: str, token: str) -> None:
        self.errors: list[str] = []
        self.requests = 0
        self._stop = threading.Event()
        self._client = MemoryClient(url, token=token, timeout_s=10.0, retry=RetryPolicy(attempts=1))
        self.session_id = self._client.start_session().session_id
        self._client.remember("deploys freeze on Fridays", session_id=self.session_id)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.requests % 2:
                    self._client.search("deploys", session_id=self.session_id)
                else:
                    self._client.inject("when can I deploy?", session_id=self.session_id)
            except Exception as exc:  # every failure is the finding; none is expected
                self.errors.append(repr(exc))
            self.requests += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._client.close()


def _percent_enabled(url: str) -> dict[str, float]:
    stats = httpx.get(
        url + "/admin/feature-flags/stats", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
    ).json()
    return {flag: stats["flags"][flag]["percent_enabled"] for flag in FLAG_NAMES}


def test_rollback_a_under_live_traffic(serve_process: Callable[..., ServedProcess], cli: CliRunner) -> None:
    served = serve_process(env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    db: Path = served.db
    traffic = Traffic(served.url, mint_token(db, "traffic", "team"))
    try:
        assert _percent_enabled(served.url) == {flag: 100.0 for flag in FLAG_NAMES}
        done = cli(
            "rollback",
            "a",
            "--url",
            served.url,
            "--db",
            str(db),
            "--json",
            env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN},
        )
        during = traffic.requests
    finally:
        traffic.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert [s["name"] for s in result["steps"]] == [
        "set flags off (admin API)",
        "service reports them off",
        "verify option A",
    ]
    assert all(isinstance(s["seconds"], float) for s in result["steps"])
    assert 0 <= result["effective_in_s"] < 30
    assert _percent_enabled(served.url) == {flag: 0.0 for flag in FLAG_NAMES}
    failed = [c for c in result["checks"] if not c["ok"]]
    assert not failed
    names = {c["name"]: c for c in result["checks"]}
    assert names["no startup errors in the log"]["state"] == "ok"  # read from the recorded --log-file
    assert "0 memories left" in names["sample session test"]["detail"]
    assert during > 10 and traffic.errors == [], traffic.errors[:5]

    from memory_system.ops import incidents

    incident = incidents.get_incident(db, result["incident"])  # every rollback is an incident
    assert incident["incident_type"] == "rollback_a" and incident["status"] == "open"
    assert incident["severity"] == "SEV2" and incident["title"].startswith("Rollback option A")
    assert [c["check"] for c in incident["checklist"]] == [c["name"] for c in result["checks"]]
    assert all(c["ok"] for c in incident["checklist"]) and incident["details"]["ok"] is True

    text = cli(
        "rollback", "a", "--url", served.url, "--db", str(db), env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}
    )
    assert text.returncode == 0, text.stdout + text.stderr
    assert "ok   service reports them off (" in text.stdout and "effective in" in text.stdout


def test_rollback_a_without_the_admin_token_stops_with_what_to_do(
    serve_process: Callable[..., ServedProcess], cli: CliRunner
) -> None:
    served = serve_process(env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN})
    done = cli("rollback", "a", "--url", served.url)
    assert done.returncode == 1
    assert "MEMORY_SYSTEM_ADMIN_TOKEN" in done.stderr and "FAIL set flags off" in done.stdout
    bad = cli(
        "rollback",
        "a",
        "--url",
        served.url,
        "--flag",
        "USE_NOTHING",
        env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN},
    )
    assert bad.returncode == 1 and "unknown flag 'USE_NOTHING'" in bad.stderr
