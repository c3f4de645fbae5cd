"""benchmarks/_load_run.py and _load_server.py against a real ``memory-system serve``: tokens from
the real CLI, a schedule driven from two generator processes, every request answered as the
operation's success, sessions rotated, writes landed, and a second service on the same
database refused (the reason load.py gives for running one worker)."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
schedule: Any = importlib.import_module("_load_schedule")
run: Any = importlib.import_module("_load_run")
server_mod: Any = importlib.import_module("_load_server")

FLAGS = {"USE_HIERARCHICAL_TIERS": True, "USE_CROSS_AGENT_SHARING": True, "USE_ENHANCED_INJECTION": True}


def served_with_tokens(tmp_path: Path, serve_process: Callable[..., Any]) -> tuple[Any, list[Any]]:
    db = tmp_path / "load.db"
    subprocess.run(
        [sys.executable, "-m", "memory_system", "db", "migrate", "--db", str(db)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    agents = server_mod._create_tokens(db, schedule.agent_specs(4, 2))
    served = serve_process(db=db, config={"featureFlags": FLAGS})
    return served, agents


def test_a_schedule_runs_from_two_generators_and_every_request_succeeds(
    tmp_path: Path, serve_process: Callable[..., Any]
) -> None:
    served, agents = served_with_tokens(tmp_path, serve_process)
    assert all(a.token.startswith("mst_") for a in agents)
    sessions = server_mod.open_sessions(served.url, agents)
    workload = schedule.Workload(
        agents=len(agents),
        mix=schedule.parse_mix("inject=70,write=20,search=10"),
        questions=["why did the deploy fail", "who owns the schema", "what does Alice prefer"],
        bases=["the deploy failed on a schema lock", "Alice prefers short answers"],
        session_every=4,
    )
    arrivals = workload.arrivals(40, 2.0)
    samples: list[float] = []
    result = run.run_schedule(
        served.url,
        agents,
        dict(sessions),
        arrivals,
        generators=2,
        timeout_s=30,
        sample=samples.append,
        sample_every_s=0.5,
    )
    planned = Counter(a.op for a in arrivals)
    done = Counter(r[0] for r in result.records)
    assert done == {
        "inject": planned["inject"],
        "write": planned["write"],
        "search": planned["search"],
        "session_open": planned["session"],
        "session_end": planned["session"],
    }
    bad = [r for r in result.records if r[4] not in run.EXPECTED[r[0]]]
    assert bad == [], result.error_samples
    assert all(r[2] >= 0 and r[3] > 0 for r in result.records)  # lag and latency from the planned time
    assert {r[5] for r in result.records if r[0] == "inject"} <= {"hit", "miss"}
    rotated = {a.agent for a in arrivals if a.op == "session"}
    assert {i for i in rotated if result.sessions[i] != sessions[i]} == rotated
    assert samples and samples[0] >= 0
    total, _ = server_mod.count_memories(served.db)
    assert total == planned["write"]  # each write distinct: none reinforced another
    assert server_mod.rss_bytes(served.proc.pid) > 10 * 2**20


def test_requests_past_the_in_flight_cap_are_dropped_and_counted(
    tmp_path: Path, serve_process: Callable[..., Any]
) -> None:
    served, agents = served_with_tokens(tmp_path, serve_process)
    arrivals = [schedule.Arrival(0.01 * i, "search", 0, {"query": "deploy", "k": 10}) for i in range(5)]
    loop = asyncio.new_event_loop()
    try:
        start_at = loop.time() + 0.1
        result = loop.run_until_complete(
            run.drive(served.url, dict(enumerate(agents)), {}, arrivals, start_at, 10, 0)
        )
    finally:
        loop.close()
    assert [r[4] for r in result.records] == [-2] * 5
    assert result.error_samples[0].startswith("search: -2")


def test_a_second_service_on_the_same_database_is_refused(
    tmp_path: Path, serve_process: Callable[..., Any]
) -> None:
    served = serve_process(config={"featureFlags": FLAGS})
    live = server_mod.Server(served.proc, served.url, served.db, served.config)
    answer = server_mod.second_worker_refusal(live, tmp_path, "none")
    assert answer.startswith("exit 1") and "held by a running service" in answer
    assert f"pid {served.proc.pid}" in answer
