"""Batch ingest over HTTP: how many memories per second ``POST /v1/memories/batch`` acknowledges.

Starts the real service (``memory-system serve --dev``) as a subprocess on a free loopback
port with a fresh database, then posts ``--batches`` batches of ``--size`` distinct memories
(default 10 x 1,000) one after another from one client, as an importer would. A batch is
acknowledged when SQLite has committed it; embedding follows in the background (the
service's worker), so it is not in these numbers but does compete for the same CPU.

Usage: ``python benchmarks/ingest.py [--batches 10] [--size 1000] [--embedder minilm|none] [--no-write]``.
Writes the section between ``<!-- ingest:start -->`` and ``<!-- ingest:end -->`` of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import free_port, git_revision, machine, write_section

WORDS = [
    "deploy",
    "review",
    "cache",
    "token",
    "latency",
    "schema",
    "rollback",
    "python",
    "sqlite",
    "index",
    "agent",
    "memory",
    "session",
    "user",
    "prefers",
    "concise",
    "answers",
    "tests",
    "flaky",
    "retry",
    "timeout",
    "budget",
    "release",
    "branch",
    "merge",
    "config",
    "vector",
    "search",
    "embedding",
    "tier",
    "promote",
    "decay",
    "share",
    "handoff",
    "namespace",
    "project",
    "incident",
    "alert",
    "metric",
    "dashboard",
    "runbook",
    "backup",
]


def batch(rng: random.Random, index: int, size: int) -> list[dict[str, object]]:
    return [
        {
            "content": f"turn {index}-{i}: " + " ".join(rng.choices(WORDS, k=14)),
            "kind": "event",
            "metadata": {"batch": index, "turn": i},
            "occurred_at": "2024-05-01T10:00:00Z",
        }
        for i in range(size)
    ]


def run(batches: int, size: int, embedder: str) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MEMORY_SYSTEM_EMBEDDER": embedder}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memory_system",
            "serve",
            "--dev",
            "--port",
            str(port),
            "--db",
            str(workdir / "bench.db"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(
            base_url=url, timeout=60, headers={"X-Agent-Id": "bench", "X-Namespace": "ingest"}
        ) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if client.get("/health/live").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the service did not start within 120 s")
                time.sleep(0.1)
            rng = random.Random(42)
            payloads = [batch(rng, b, size) for b in range(batches)]
            client.post("/v1/memories/batch", json={"items": batch(rng, -1, 10)})  # warm-up
            latencies: list[float] = []
            started = time.perf_counter()
            for items in payloads:
                t0 = time.perf_counter()
                response = client.post("/v1/memories/batch", json={"items": items})
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 201 or response.json()["created"] != size:
                    raise SystemExit(f"batch refused: {response.status_code} {response.text[:300]}")
            total = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return {
        "memories": batches * size,
        "seconds": total,
        "per_s": batches * size / total,
        "batch_p50_ms": statistics.median(latencies) * 1000,
        "batch_max_ms": max(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument(
        "--embedder",
        default="minilm,none",
        help="comma-separated: minilm (background embedding on), none (full-text only)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    lines = []
    for embedder in args.embedder.split(","):
        result = run(args.batches, args.size, embedder)
        lines.append(
            f"| {args.batches} x {args.size} | {embedder} | {result['per_s']:,.0f} | "
            f"{result['batch_p50_ms']:.0f} | {result['batch_max_ms']:.0f} | {result['seconds']:.2f} |"
        )
        print(lines[-1])
    load = os.getloadavg()[0]
    if args.no_write:
        return
    body = "\n".join(
        [
            "## Batch ingest over HTTP",
            "",
            (
                f"`python benchmarks/ingest.py --batches {args.batches} --size {args.size} "
                f"--embedder {args.embedder}` at {git_revision()} on {machine()}; "
                "`memory-system serve --dev` as a subprocess, one client posting batches back to back. "
                "Acknowledged = committed to SQLite (full-text indexed by trigger); vectors are computed "
                "afterwards by the background worker, which shares the CPU. 1-minute load average "
                f"{load:.1f} at the end (above ~2 means other work shared the 2 cores: "
                "treat the rates as a floor)."
            ),
            "",
            "| batches | embedder | memories/s acknowledged | batch p50 ms | batch max ms | total s |",
            "|---|---|---|---|---|---|",
            *lines,
            "",
            (
                "Goal: >= 1,000 memories/s acknowledged. Where a batch's time goes (profiled in-process): "
                "about half is SQLite's executemany (rows, five indexes, the FTS5 trigger), the rest "
                "request parsing and validation. With `minilm` the embedding worker runs torch beside the "
                "requests for the whole run, so the same requests get less of the CPU; that, not the write "
                "path, is the gap between the rows."
            ),
        ]
    )
    write_section("ingest", body)


if __name__ == "__main__":
    main()
