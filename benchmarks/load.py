"""Open-loop load: the realistic mix against a live server, rate stepped up until it is not held.

Full run (the defaults; about 15-25 minutes, alone on the machine):

    python benchmarks/load.py

Seeds 100,000 memories across 50 namespaces and 200 agents (kept in --workdir and reused),
starts ``memory-system serve`` with agent tokens, the real embedder and tier maintenance
running, then drives the mix (70% injections, half of them repeat questions; 20% writes; 10%
searches; sessions opening and ending) from a separate generator process on a schedule fixed
in advance: a slow answer delays nothing after it, and latency is counted from each request's
planned send time, so a queue cannot hide. Rates step up (--rates) until injection p95 passes
100 ms, an error happens, or the generator itself falls behind its schedule (which makes the
point invalid: rerun with --generators 2).

Reports per step and operation p50/p95/p99 and error rate, the highest rate held (injection
p95 < 100 ms, no errors, generator on schedule), and the target (injection p95 < 25 ms at 50
requests/s). One uvicorn worker: the design allows one service process per database (the
output says why and shows the refusal of a second). Writes the "load" section of BENCHMARKS.md
(--out for another file, --no-write for none), docs/load-latency.png, and
<workdir>/load-results.json, from which benchmarks/soak.py takes its rate.

Trial run: python benchmarks/load.py --memories 5000 --rates 10,20 --step-seconds 15 \\
    --out /tmp/BENCHMARKS.trial.md --plot /tmp/load-latency.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load_options import add_common, check_common, setup_text, workload
from _load_run import run_schedule
from _load_schedule import parse_rates
from _load_server import (
    count_memories,
    fresh_copy,
    open_sessions,
    rss_bytes,
    second_worker_refusal,
    seed,
    start_server,
    stop_server,
)
from _load_stats import ROWS, generator_health, summarize
from _report import git_revision, machine, write_section

TARGET_RATE, TARGET_P95_MS = 50.0, 25.0
ALL_OPS = ("inject", "write", "search", "session_open", "session_end")  # the rows that partition requests

TWO_WORKERS = (
    "Two workers: not run, because the design allows one service process per database. "
    "`memory-system serve` takes an exclusive lock on `DB.lock` for its whole life "
    "(`store/lockfile.py`, docs/operations.md), and has no `--workers` option: each process keeps "
    "its own in-memory full-text (BM25) and vector (HNSW) indexes, kept current from the writes "
    "*it* makes (`memory/retrieval/text_index.py`: memories are written only by the service, which "
    "holds the database alone), plus its own answer cache and Prometheus registry; a second "
    "writer would leave the first's indexes without its writes. Scaling out is one service per "
    "database (per set of namespaces). What a second `serve` on this run's database answered: "
)


def held(step: dict[str, Any], p95_limit: float, max_error_rate: float) -> bool:
    inject = step["ops"].get("inject", {})
    p95 = inject.get("p95")
    return (
        p95 is not None
        and p95 < p95_limit
        and step["error_rate"] <= max_error_rate
        and step["health"]["on_schedule"]
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def step_table(steps: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| rate req/s | operation | requests | p50 ms | p95 ms | p99 ms | errors | cache hits |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        for row in ROWS:
            op = s["ops"].get(row)
            if op is None:
                continue
            errs = f"{op['errors']} ({op['error_rate']:.2%})" if op["errors"] else "0"
            if op["error_statuses"]:
                errs += " " + ", ".join(f"{k}: {v}" for k, v in sorted(op["error_statuses"].items()))
            hits = "" if op.get("cache_hit_share") is None else f"{op['cache_hit_share']:.0%}"
            lines.append(
                f"| {s['rate']:g} | {row} | {op['requests']} | {_ms(op['p50'])} | {_ms(op['p95'])} | "
                f"{_ms(op['p99'])} | {errs} | {hits} |"
            )
    return lines


def health_table(steps: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| rate req/s | mix planned req/s | send lag p50 / p99 / max ms | generator | server RSS MiB (max) "
        "| memories / without vector at end | held |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        h = s["health"]
        lines.append(
            f"| {s['rate']:g} | {h['planned_rate']:g} | {_ms(h['lag_p50'])} / {_ms(h['lag_p99'])} / "
            f"{_ms(h['lag_max'])} | {'on schedule' if h['on_schedule'] else '**behind: invalid**'} | "
            f"{s['rss_max'] / 2**20:.0f} | {s['memories']:,} / {s['backlog']:,} | "
            f"{'yes' if s['held'] else 'no'} |"
        )
    return lines


def verdicts(
    steps: list[dict[str, Any]],
    best: dict[str, Any] | None,
    p95_limit: float,
    namespaces: int,
    step_seconds: float,
) -> list[str]:
    out = []
    if best:
        out.append(
            f"Highest rate held (injection p95 < {p95_limit:g} ms, no errors, generator on schedule): "
            f"**{best['rate']:g} requests/s** (injection p95 {best['ops']['inject']['p95']} ms)."
        )
    else:
        out.append(f"No rate was held (injection p95 < {p95_limit:g} ms, no errors, generator on schedule).")
    last = steps[-1] if steps else None
    if last and not last["held"]:
        why = []
        if not last["health"]["on_schedule"]:
            why.append(
                "the generator fell behind its schedule (it shares the cores with the server; where "
                "cores are free, rerun with --generators 2)"
            )
        p95 = last["ops"].get("inject", {}).get("p95")
        if p95 is None or p95 >= p95_limit:
            why.append(f"injection p95 {p95} ms")
        if last["error_rate"] > 0:
            why.append(f"error rate {last['error_rate']:.2%}")
        out.append(f"The sweep stopped at {last['rate']:g} requests/s: {'; '.join(why)}.")
    elif last:
        out.append("The sweep ended at the top of --rates with every step held; raise --rates for the limit.")
    shown = best or (steps[0] if steps else None)
    repeat = shown["ops"].get("inject-repeat") if shown else None
    if shown and repeat and repeat.get("cache_hit_share") is not None:
        writes = shown["ops"].get("write", {}).get("requests", 0)
        gap = f"{namespaces * step_seconds / writes:.1f} s" if writes else "never"
        out.append(
            f"Repeat questions hit the answer cache {repeat['cache_hit_share']:.0%} of the time at "
            f"{shown['rate']:g} requests/s: a hit needs the same agent, session and question with no write "
            "to the namespace in between (every write bumps the namespace's scope version, part of the "
            f"cache key: memory/injection/cache.py), and this mix writes to each namespace every {gap}."
        )
    if any(not s.get("reniced", True) for s in steps):
        out.append("The generator could not raise its priority (not root): --generator-nice had no effect.")
    at_target = next((s for s in steps if s["rate"] == TARGET_RATE), None)
    if at_target and at_target["ops"].get("inject", {}).get("p95") is not None:
        p95 = at_target["ops"]["inject"]["p95"]
        met = p95 < TARGET_P95_MS and at_target["health"]["on_schedule"]
        out.append(
            f"Target, injection p95 < {TARGET_P95_MS:g} ms at {TARGET_RATE:g} requests/s on the mixed load: "
            f"{p95} ms, {'met' if met else 'missed'}"
            + ("" if at_target["health"]["on_schedule"] else " (generator behind: not a valid point)")
            + "."
        )
    else:
        out.append(
            f"Target (injection p95 < {TARGET_P95_MS:g} ms at {TARGET_RATE:g} requests/s): not measured."
        )
    return out


def section(results: dict[str, Any]) -> str:
    steps, best = results["steps"], results["best"]
    lines = [
        "## Under load: the realistic mix, open loop (benchmarks/load.py)",
        "",
        f"Machine: {results['machine']}. Revision {results['revision']}. Command: `{results['command']}`.",
        *results["setup"],
        f"Each step {results['step_seconds']:g} s after a {results['warmup_seconds']:g} s warm-up; "
        f"contention probe before the sweep {results['probe_ms']} ms (~3.6 ms on a quiet 2-core box; "
        "higher means other work shared the cores).",
        "",
        *verdicts(
            steps, best, results["p95_limit_ms"], results["args"]["namespaces"], results["step_seconds"]
        ),
        "",
        *step_table(steps),
        "",
        "The generator and the server per step (session rotations are besides the mix's rate; a "
        "session end is timed from its own send, after the open it follows):",
        "",
        *health_table(steps),
        "",
        TWO_WORKERS + f"`{results['second_worker']}`.",
        "",
        "![Latency against arrival rate](docs/load-latency.png)",
    ]
    return "\n".join(lines)


def measure(args: argparse.Namespace, rates: list[float], command: str) -> dict[str, Any]:
    """Seed (or reuse), serve a fresh copy, warm up, then the sweep; the results as saved."""
    from injection import contention_probe

    print(
        f"seeding {args.memories:,} memories ({args.agents} agents, {args.namespaces} namespaces)", flush=True
    )
    seeded = seed(args.workdir, args.memories, args.agents, args.namespaces)
    print(f"  seed {seeded.info}", flush=True)
    mix = workload(args)
    db = fresh_copy(seeded, args.workdir / "load-run.db")
    server = start_server(db, args.workdir, args.embedder, args.tier_interval)
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    try:
        print(
            f"server pid {server.pid} at {server.url}; indexes loaded in {server.index_load_s} s", flush=True
        )
        probe = contention_probe()
        refusal = second_worker_refusal(server, args.workdir, args.embedder)
        print(f"second worker on the same database: {refusal}", flush=True)
        sessions = open_sessions(server.url, seeded.agents)
        if args.warmup_seconds > 0:
            warm = run_schedule(
                server.url,
                seeded.agents,
                sessions,
                mix.arrivals(rates[0] / 2, args.warmup_seconds, args.arrivals),
                generators=args.generators,
                timeout_s=args.timeout,
                nice=args.generator_nice,
            )
            sessions = warm.sessions
        for rate in rates:
            time.sleep(3)  # what the last step left (embedding backlog) keeps running; the queue empties
            peak = [0]

            def sample(_: float, peak: list[int] = peak) -> None:
                peak[0] = max(peak[0], rss_bytes(server.pid))

            result = run_schedule(
                server.url,
                seeded.agents,
                sessions,
                mix.arrivals(rate, args.step_seconds, args.arrivals),
                generators=args.generators,
                timeout_s=args.timeout,
                nice=args.generator_nice,
                sample=sample,
                sample_every_s=5.0,
            )
            sessions = result.sessions
            sample(0.0)
            total, backlog = count_memories(db)
            records = result.records
            ops = summarize(records)
            errors = sum(ops[r]["errors"] for r in ALL_OPS if r in ops)
            step: dict[str, Any] = {
                "rate": rate,
                "ops": ops,
                "health": generator_health(records, args.step_seconds, args.max_lag_ms),
                "error_rate": round(errors / len(records), 4) if records else 0.0,
                "error_samples": result.error_samples[:5],
                "rss_max": peak[0],
                "memories": total,
                "backlog": backlog,
                "reniced": result.reniced,
            }
            step["held"] = held(step, args.p95_limit_ms, args.max_error_rate)
            steps.append(step)
            inject = ops.get("inject", {})
            print(
                f"  {rate:g}/s: inject p50 {inject.get('p50')} p95 {inject.get('p95')} "
                f"p99 {inject.get('p99')} ms; errors {errors}/{len(records)}; "
                f"lag p99 {step['health']['lag_p99']} ms; {'held' if step['held'] else 'NOT held'}",
                flush=True,
            )
            for line in result.error_samples[:3]:
                print(f"    error: {line}", flush=True)
            if not step["held"]:
                break
            best = step
    finally:
        stop_server(server)
    revision = git_revision()
    return {
        "command": command,
        "machine": machine(),
        "revision": revision,
        "setup": setup_text(args, seeded.info, server.index_load_s),
        "step_seconds": args.step_seconds,
        "warmup_seconds": args.warmup_seconds,
        "probe_ms": probe,
        "p95_limit_ms": args.p95_limit_ms,
        "second_worker": refusal,
        "steps": steps,
        "best": best,
        "held_rate": best["rate"] if best else None,
        "plot_title": (
            f"memory-system under the mixed load: {args.memories:,} memories, {args.namespaces} namespaces, "
            f"{args.agents} agents, embedder {args.embedder}\n{os.cpu_count()} cores (contention probe "
            f"{probe} ms; ~3.6 quiet), revision {revision}, {args.step_seconds:g} s per step, "
            f"{args.arrivals} arrivals"
        ),
        "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "mix_parsed"
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common(parser, plot="load-latency.png")
    sweep = parser.add_argument_group("the sweep")
    sweep.add_argument(
        "--rates",
        default="25,50,100,150,200,300,400,600",
        help="ascending arrival rates of the mix, requests/s (default 25,50,100,150,200,300,400,600)",
    )
    sweep.add_argument("--step-seconds", type=float, default=60.0, help="length of each step (default 60)")
    sweep.add_argument(
        "--warmup-seconds",
        type=float,
        default=20.0,
        help="unmeasured load at half the first rate (default 20)",
    )
    sweep.add_argument(
        "--p95-limit-ms",
        type=float,
        default=100.0,
        help="injection p95 a held step stays under (default 100)",
    )
    sweep.add_argument(
        "--max-error-rate", type=float, default=0.0, help="share of errors a held step may have (default 0)"
    )
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="measure nothing: redraw the plot and rewrite the section from <workdir>/load-results.json",
    )
    args = parser.parse_args()
    check_common(parser, args)
    try:
        rates = parse_rates(args.rates)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.step_seconds > 0 or args.warmup_seconds < 0:
        parser.error("--step-seconds must be > 0 and --warmup-seconds >= 0")
    saved = args.workdir / "load-results.json"
    if args.from_results:
        if not saved.exists():
            parser.error(f"--from-results: no {saved}; run without it first")
        results = json.loads(saved.read_text())
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        results = measure(args, rates, " ".join(["python benchmarks/load.py", *sys.argv[1:]]))
        saved.write_text(json.dumps(results, indent=1))
    text = section(results)
    print(text)
    if not args.no_plot:
        from _load_plot import plot_load

        plot_load(results["steps"], results["plot_title"], args.plot)
        print(f"plot: {args.plot}")
    if not args.no_write:
        write_section("load", text, args.out)
        print(f"section 'load' written to {args.out or 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
