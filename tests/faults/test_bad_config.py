"""Garbage in the environment of a restart is refused in one line naming the variable, before the
database is touched, and the next good start finds the last good state: config file, database
flags and data as they were.

A malformed config file on SIGHUP (not valid JSON, a bad flag value) is refused, logged at ERROR
and the previous configuration kept: ``tests/api/test_flags_live.py``
(``test_config_file_and_sighup_with_a_good_and_a_broken_file``) and
``tests/server/test_lifecycle.py`` (``test_sighup_reloads_the_admin_token_and_refuses_a_broken_file``)
prove that against a running service, so it is not repeated here.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import CliRunner
from tests.faults._http import agent, query, wait_until

ADMIN = "admin-token-for-fault-tests-0123456789"
CONFIG: dict[str, object] = {"adminToken": ADMIN, "featureFlags": {"USE_HIERARCHICAL_TIERS": 0.25}}
GARBAGE = [
    (
        "USE_ENHANCED_INJECTION",
        "maybe",
        "USE_ENHANCED_INJECTION='maybe' is not a flag value; use true, false",
    ),
    ("MEMORY_SYSTEM_SHUTDOWN_DELAY_S", "soon", "MEMORY_SYSTEM_SHUTDOWN_DELAY_S"),
    ("MEMORY_SYSTEM_INTEGRITY_CHECK_INTERVAL_S", "0", "integrityCheckIntervalS=0.0 must be positive"),
]


def _effective(served: Any) -> dict[str, float]:
    response = httpx.get(
        served.url + "/admin/feature-flags", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {name: flag["effective"] for name, flag in response.json()["flags"].items()}


def test_a_garbage_env_at_restart_is_refused_and_the_last_good_state_is_kept(
    serve_process: Any, cli: CliRunner
) -> None:
    first = serve_process(config=CONFIG, dev=True)
    with agent(first.url) as client:
        kept = client.post("/v1/memories", json={"content": "written under the good config"}).json()["id"]
    cli("flags", "set", "USE_CROSS_AGENT_SHARING", "false", "--db", str(first.db), check=True)
    wait_until(lambda: _effective(first)["USE_CROSS_AGENT_SHARING"] == 0.0, "the database flag to apply")
    good = _effective(first)
    assert good == {
        "USE_HIERARCHICAL_TIERS": 0.25,
        "USE_CROSS_AGENT_SHARING": 0.0,
        "USE_ENHANCED_INJECTION": 1.0,
    }
    assert first.stop() == 0
    rows = query(first.db, "SELECT * FROM memories"), query(first.db, "SELECT * FROM feature_flag_events")

    for variable, value, says in GARBAGE:
        refused = serve_process(config=CONFIG, db=first.db, env={variable: value}, dev=True, wait=False)
        assert refused.wait(timeout=60) == 1
        stderr = refused.stderr.read_text()
        assert says in stderr and "Traceback" not in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
        # Refused before the database was opened: no migration ran, no service started.
        assert [
            e["event"] for e in refused.log_events() if e["event"] in ("schema_migrated", "service_starting")
        ] == []
    assert (
        query(first.db, "SELECT * FROM memories"),
        query(first.db, "SELECT * FROM feature_flag_events"),
    ) == rows

    # An operator's CLI with the same garbage says so and still shows the stored state.
    shown = cli("flags", "show", "--db", str(first.db), env={"USE_ENHANCED_INJECTION": "maybe"})
    assert "USE_ENHANCED_INJECTION='maybe' is not a flag value" in " ".join(shown.stdout.split())

    again = serve_process(config=CONFIG, db=first.db, dev=True)
    assert _effective(again) == good
    with agent(again.url) as client:
        assert client.get(f"/v1/memories/{kept}").status_code == 200
    assert again.stop() == 0
