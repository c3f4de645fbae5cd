"""What watching costs: injection throughput with the alert matrix evaluated and /metrics
scraped, against the same service with alert evaluation switched off, in one run.

Usage: python benchmarks/alerts_overhead.py [--size 10000] [--rounds 3] [--seconds 20]

The database is benchmarks/injection.py's (same fill, same ``--workdir``). Each round starts
``memory-system serve`` twice on it, once with ``"alerts": {"evaluateEverySeconds": 1}`` (five
times the default rate, so the figure is an upper bound) plus a scraper reading ``/metrics``
every 5 s, once with ``"alerts": {"enabled": false}`` and no scraper, in alternating order.
Each measures closed-loop throughput: ``--concurrency`` connections send ``POST /v1/inject``
with distinct questions (every one a cache miss, the full retrieval path) for ``--seconds``.
Counters are always collected (they cannot be switched off), so the difference is the cost
of evaluation and scraping. The issue's goal: under 5% of injection throughput.
Writes the "alerts overhead" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, write_section
from injection import (
    AGENT,
    NAMESPACE,
    _Pool,
    contention_probe,
    distinct_queries,
    fill,
    start_server,
    stop_server,
    wait_for_indexes,
)

ON = {"alerts": {"evaluateEverySeconds": 1}}
OFF = {"alerts": {"enabled": False}}


async def closed_loop(url: str, queries: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    """Requests completed in ``seconds`` by ``concurrency`` connections, each sending its next
    question as soon as the last one answered."""
    host, port = url.removeprefix("http://").split(":")
    pool = _Pool(host, int(port), {"x-agent-id": AGENT, "x-namespace": NAMESPACE})
    done = errors = 0
    latencies: list[float] = []
    questions = iter(queries)
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def worker() -> None:
        nonlocal done, errors
        while loop.time() < end:
            started = loop.time()
            status, _ = await pool.post("/v1/inject", {"query": next(questions), "token_budget": 1000})
            if status == 200:
                done += 1
                latencies.append((loop.time() - started) * 1000)
            else:
                errors += 1

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        pool.close()
    return {
        "requests_per_s": round(done / seconds, 1),
        "errors": errors,
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
    }


def scrape(url: str, stop: threading.Event, every_s: float = 5.0) -> None:
    import httpx

    while not stop.wait(every_s):
        httpx.get(url + "/metrics", timeout=10)


def measure(
    db: Path, workdir: Path, config: dict[str, Any], queries: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    proc, url = start_server(db, workdir, config)
    stop = threading.Event()
    try:
        wait_for_indexes(url)
        import httpx

        for i in range(20):  # warm the model and the connection before counting
            httpx.post(
                url + "/v1/inject",
                json={"query": f"warm up {i}"},
                headers={"x-agent-id": AGENT, "x-namespace": NAMESPACE},
                timeout=60,
            )
        scraper = None
        if config is ON:
            scraper = threading.Thread(target=scrape, args=(url, stop), daemon=True)
            scraper.start()
        result = asyncio.run(closed_loop(url, queries, args.seconds, args.concurrency))
        if config is ON:
            report = httpx.get(url + "/metrics", timeout=10).text
            result["alert_series"] = report.count("memory_alert_firing{")
        return result
    finally:
        stop.set()
        stop_server(proc)


def section(rounds: list[dict[str, Any]], args: argparse.Namespace, probes: list[float], command: str) -> str:
    on = [r["on"]["requests_per_s"] for r in rounds]
    off = [r["off"]["requests_per_s"] for r in rounds]
    cost = 1 - statistics.median(on) / statistics.median(off)
    lines = [
        "## Alerts overhead",
        "",
        f"Machine: {machine()}. Revision: {git_revision()}. "
        f"Date: {time.strftime('%Y-%m-%d', time.gmtime())}.",
        f"Command: `{command}`. Contention probe (quiet ~3.6 ms): {', '.join(f'{p} ms' for p in probes)}.",
        "",
        f"Closed-loop `POST /v1/inject` throughput, {args.concurrency} connections, {args.seconds:g} s per",
        f"measurement, {args.size:,} memories, every question distinct (cache misses). **On**: alert matrix",
        'evaluated every 1 s (5x the default) and `/metrics` scraped every 5 s. **Off**: `"alerts":',
        '{"enabled": false}`, no scraper. Rounds alternate the order.',
        "",
        "| round | on, requests/s | off, requests/s | on p50 ms | off p50 ms |",
        "|---|---|---|---|---|",
    ]
    for i, r in enumerate(rounds, 1):
        lines.append(
            f"| {i} | {r['on']['requests_per_s']} | {r['off']['requests_per_s']} | "
            f"{r['on']['p50_ms']} | {r['off']['p50_ms']} |"
        )
    lines += [
        "",
        f"Median throughput with alerts on / off: {statistics.median(on)} / {statistics.median(off)}"
        f" requests/s, a cost of **{cost:.1%}** (goal: under 5%; a negative figure is noise).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/memory-system-injection-bench"))
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds <= 0 or args.concurrency < 1 or args.size < 1:
        raise SystemExit("--rounds, --seconds, --concurrency and --size must be positive")
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / f"inject-{args.size}.db"
    fill(db, args.size)
    import random

    rng = random.Random(7)
    probes = [contention_probe()]
    rounds = []
    for i in range(args.rounds):
        order = [("on", ON), ("off", OFF)] if i % 2 == 0 else [("off", OFF), ("on", ON)]
        result: dict[str, Any] = {}
        for name, config in order:
            queries = distinct_queries(rng, 50_000)
            result[name] = measure(db, args.workdir, config, queries, args)
            print(json.dumps({"round": i + 1, name: result[name]}), flush=True)
        rounds.append(result)
    probes.append(contention_probe())
    text = section(rounds, args, probes, "python benchmarks/alerts_overhead.py " + " ".join(sys.argv[1:]))
    print(text)
    if not args.no_write:
        write_section("alerts overhead", text)


if __name__ == "__main__":
    main()
