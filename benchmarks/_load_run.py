"""Driving a schedule against the live service from one or more generator processes.

The generator is never the server's process, and not the parent's either: the parent builds
the schedule, splits it by agent (each agent's session lives in one process), starts the
children, samples the server's memory while they run, and collects what they measured.
Several processes are for rates one Python process cannot keep to the schedule; whether it
kept up is measured, not assumed: every request's *lag* (when it actually left minus when it
was planned) is recorded, and a step whose lag p99 passes ``max_lag_ms`` is reported as
invalid (the latency from the planned time then includes the generator's own queue).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from _load_client import Pool, TransportFailure
from _load_schedule import AgentSpec, Arrival

__all__ = ["Record", "RunResult", "drive", "run_schedule"]

# (op, planned seconds after start, lag ms, latency ms from planned, status, cache, repeat)
# status: the HTTP status, or 0 no answer (transport), -1 timed out, -2 dropped at the in-flight cap.
Record = tuple[str, float, float, float, int, str, bool]
EXPECTED = {
    "inject": {200},
    "write": {200, 201},
    "search": {200},
    "session_open": {201},
    "session_end": {200},
}


@dataclass
class RunResult:
    records: list[Record]
    sessions: dict[int, str]
    error_samples: list[str] = field(default_factory=list)
    started_at: float = 0.0  # time.monotonic() of the schedule's zero
    reniced: bool = True  # the generator processes got the priority asked for


def _headers(agent: AgentSpec, session: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {agent.token}"}
    if session:
        headers["X-Session-Id"] = session
    return headers


async def drive(
    url: str,
    agents: dict[int, AgentSpec],
    sessions: dict[int, str],
    arrivals: list[Arrival],
    start_at: float,
    timeout_s: float = 30.0,
    in_flight_cap: int = 2000,
) -> RunResult:
    """Send ``arrivals`` at ``start_at + arrival.at`` (``time.monotonic`` seconds, the same clock
    as the event loop's), each whether or not earlier ones have answered."""
    host, port = url.removeprefix("http://").split(":")
    pool = Pool(host, int(port))
    loop = asyncio.get_running_loop()
    records: list[Record] = []
    samples: list[str] = []
    in_flight: set[asyncio.Task[None]] = set()

    def failed(op: str, planned: float, lag: float, status: int, what: str, repeat: bool = False) -> None:
        records.append((op, planned - start_at, lag, (loop.time() - planned) * 1000, status, "", repeat))
        if len(samples) < 20:
            samples.append(f"{op}: {status} {what[:200]}")

    async def call(path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(pool.post(path, body, headers), timeout_s)
        except TimeoutError:
            return -1, b"timed out"
        except TransportFailure as exc:
            return 0, str(exc).encode()

    async def one(arrival: Arrival, planned: float) -> None:
        lag = (loop.time() - planned) * 1000
        agent = agents[arrival.agent]
        session = sessions.get(arrival.agent)
        if arrival.op == "session":
            status, data = await call("/v1/sessions", None, _headers(agent, None))
            done = loop.time()
            if status not in EXPECTED["session_open"]:
                failed("session_open", planned, lag, status, data.decode("utf-8", "replace"))
                return
            try:
                new_session = str(json.loads(data)["session_id"])
            except (ValueError, KeyError, TypeError):
                failed("session_open", planned, lag, 0, f"no session_id in {data[:100]!r}")
                return
            records.append(
                ("session_open", planned - start_at, lag, (done - planned) * 1000, status, "", False)
            )
            sessions[arrival.agent] = new_session
            if session is None:
                return
            sent = loop.time()
            status, data = await call(f"/v1/sessions/{session}/end", None, _headers(agent, None))
            end_ms = (loop.time() - sent) * 1000  # a dependent request: timed from its own send
            if status not in EXPECTED["session_end"]:
                samples.append(f"session_end: {status} {data[:200].decode('utf-8', 'replace')}")
            records.append(("session_end", planned - start_at, lag, end_ms, status, "", False))
            return
        body = dict(arrival.body or {})
        path = {"inject": "/v1/inject", "write": "/v1/memories", "search": "/v1/memories/search"}[arrival.op]
        if arrival.op == "inject" and session:
            body["session_id"] = session
        if arrival.op == "write" and body.get("tier") == "working":
            if not session:
                body.pop("tier")
            else:
                body["session_id"] = session
        status, data = await call(path, body, _headers(agent, session))
        done = loop.time()
        if status not in EXPECTED[arrival.op]:
            failed(arrival.op, planned, lag, status, data.decode("utf-8", "replace"), arrival.repeat)
            return
        cache = ""
        if arrival.op == "inject":
            try:
                cache = str(json.loads(data).get("cache", ""))
            except (ValueError, AttributeError):
                failed(arrival.op, planned, lag, 0, f"not a JSON object: {data[:100]!r}", arrival.repeat)
                return
        records.append(
            (arrival.op, planned - start_at, lag, (done - planned) * 1000, status, cache, arrival.repeat)
        )

    def forget(task: asyncio.Task[None]) -> None:
        in_flight.discard(task)

    try:
        for arrival in arrivals:
            planned = start_at + arrival.at
            delay = planned - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= in_flight_cap:
                failed(
                    arrival.op, planned, (loop.time() - planned) * 1000, -2, "in-flight cap", arrival.repeat
                )
                continue
            task = asyncio.create_task(one(arrival, planned))
            in_flight.add(task)
            task.add_done_callback(forget)
        if in_flight:
            await asyncio.gather(*in_flight)
    finally:
        pool.close()
    return RunResult(records, sessions, samples, start_at)


def _renice(nice: int) -> bool:
    """Raise (negative ``nice``) this process's CPU priority; False where not permitted."""
    if nice == 0:
        return True
    try:
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + nice)
    except OSError:
        return False
    return True


def _child(conn: Connection, url: str, timeout_s: float, in_flight_cap: int, nice: int) -> None:
    """A generator process: receives its share, waits for the start time, drives, sends back."""
    agents, sessions, arrivals = conn.recv()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < in_flight_cap + 100:  # one socket per request in flight
        wanted = in_flight_cap + 100
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(hard, wanted), hard)
        )
    conn.send("ready" if _renice(nice) else "ready, not reniced")
    start_at = conn.recv()
    result = asyncio.run(drive(url, agents, sessions, arrivals, start_at, timeout_s, in_flight_cap))
    conn.send(result)
    conn.close()


def run_schedule(
    url: str,
    agents: list[AgentSpec],
    sessions: dict[int, str],
    arrivals: list[Arrival],
    *,
    generators: int = 1,
    timeout_s: float = 30.0,
    in_flight_cap: int = 2000,
    sample: Callable[[float], None] | None = None,
    sample_every_s: float = 10.0,
    nice: int = 0,
) -> RunResult:
    """Run ``arrivals`` from ``generators`` child processes (agent i goes to process i mod n);
    ``sample(seconds since start)`` is called every ``sample_every_s`` meanwhile, in this process.
    ``nice`` < 0 raises the children's CPU priority above the server's, so that on shared cores
    the generator keeps its schedule (its own work is small) and the server gets the rest."""
    if generators < 1:
        raise ValueError(f"--generators must be at least 1, got {generators}")
    ctx = multiprocessing.get_context("spawn")
    children = []
    for k in range(generators):
        mine = {i: a for i, a in enumerate(agents) if i % generators == k}
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_child, args=(child_end, url, timeout_s, in_flight_cap, nice), daemon=True)
        proc.start()
        parent_end.send(
            (mine, {i: s for i, s in sessions.items() if i in mine}, [a for a in arrivals if a.agent in mine])
        )
        children.append((proc, parent_end))
    reniced = True
    for proc, conn in children:
        if not conn.poll(120):
            raise SystemExit(f"generator process {proc.pid} did not get ready within 120 s")
        reniced = conn.recv() == "ready" and reniced
    start_at = time.monotonic() + 0.5
    for _, conn in children:
        conn.send(start_at)
    end = start_at + (arrivals[-1].at if arrivals else 0.0)
    results: list[RunResult | None] = [None] * generators
    next_sample = start_at
    deadline = end + timeout_s + 120
    while any(r is None for r in results):
        now = time.monotonic()
        if sample is not None and now >= next_sample:
            sample(now - start_at)
            next_sample += sample_every_s
        if now > deadline:
            raise SystemExit("the generator processes did not finish within the schedule + timeout + 120 s")
        for k, (proc, conn) in enumerate(children):
            if results[k] is None and conn.poll(0.05):
                results[k] = conn.recv()
            elif results[k] is None and not proc.is_alive() and not conn.poll():
                raise SystemExit(f"generator process {proc.pid} died with exit code {proc.exitcode}")
    for proc, _ in children:
        proc.join(timeout=10)
    merged = RunResult([], {}, [], start_at, reniced)
    for r in results:
        assert r is not None
        merged.records.extend(r.records)
        merged.sessions.update(r.sessions)
        merged.error_samples.extend(r.error_samples)
    merged.records.sort(key=lambda rec: rec[1])
    return merged
