"""Soak: the realistic mix for 30 minutes at half the highest rate load.py held, memory sampled.

Full run (after benchmarks/load.py, whose <workdir>/load-results.json gives the rate; about
35 minutes, alone on the machine):

    python benchmarks/soak.py

The same data, service and mix as benchmarks/load.py (same options), one open-loop schedule
for --seconds (default 1800) at --rate (default: half of load.py's highest held rate). The
server's resident memory (RSS, /proc) is sampled every --sample-seconds (default 10).
Reported: memory growth after warm-up (median RSS of the first window after the warm-up
against the median of the last window; aim under 5%), with the memories the run's writes
added beside it (the indexes grow with the data, a leak grows without it); latency drift (p95
per operation, first window against last, and per minute); errors (aim: none).
Writes the "soak" section of BENCHMARKS.md (--out for another file, --no-write for none) and
docs/soak.png (RSS and p95 per minute over time).

Trial run: python benchmarks/soak.py --memories 5000 --rate 10 --seconds 120 \\
    --out /tmp/BENCHMARKS.trial.md --plot /tmp/soak.png
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
from _load_run import Record, run_schedule
from _load_server import count_memories, fresh_copy, open_sessions, rss_bytes, seed, start_server, stop_server
from _load_stats import generator_health, median, per_minute, summarize
from _report import git_revision, machine, write_section

OPS = ("inject", "write", "search")


def rate_from_load(workdir: Path) -> tuple[float, str]:
    """Half of the highest rate benchmarks/load.py held, from its results in ``workdir``."""
    path = workdir / "load-results.json"
    if not path.exists():
        raise SystemExit(f"no --rate given and no {path}: run benchmarks/load.py first, or pass --rate")
    saved = json.loads(path.read_text())
    if not saved.get("held_rate"):
        raise SystemExit(f"{path} records no held rate (load.py held none); pass --rate")
    return saved["held_rate"] / 2, f"half of the {saved['held_rate']:g} requests/s load.py held ({path.name})"


def window_p95(records: list[Record], start: float, end: float) -> dict[str, float | None]:
    inside = [r for r in records if start <= r[1] < end]
    ops = summarize(inside)
    return {op: ops[op]["p95"] if op in ops else None for op in OPS}


def growth(
    rss: list[tuple[float, int]], first: tuple[float, float], last: tuple[float, float]
) -> dict[str, Any]:
    """Median RSS of the samples in the two windows, and the growth from one to the other
    (None where a window holds no sample)."""
    a = [b for t, b in rss if first[0] <= t < first[1]]
    z = [b for t, b in rss if last[0] <= t <= last[1]]
    out: dict[str, Any] = {
        "first_mib": None,
        "last_mib": None,
        "growth_pct": None,
        "peak_mib": round(max(b for _, b in rss) / 2**20, 1) if rss else None,
        "samples": len(rss),
    }
    if a and z:
        first_mib, last_mib = median(a) / 2**20, median(z) / 2**20
        out.update(
            first_mib=round(first_mib, 1),
            last_mib=round(last_mib, 1),
            growth_pct=round((last_mib - first_mib) / first_mib * 100, 2),
        )
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def memory_line(res: dict[str, Any]) -> str:
    g = res["growth"]
    added = (
        f"The run's writes took the database from {res['memories_before']:,} to {res['memories_after']:,} "
        f"memories ({res['memories_growth_pct']:+.1f}%), which the in-memory indexes hold too"
    )
    if g["growth_pct"] is None:
        return f"- Memory: too few samples in the windows to judge growth; peak {g['peak_mib']} MiB. {added}."
    per = g.get("mib_per_1000_added")
    return (
        f"- Memory after warm-up: median RSS {g['first_mib']} MiB in the first window, "
        f"{g['last_mib']} MiB in the last: growth **{g['growth_pct']:+.2f}%** "
        f"(aim < {res['growth_limit_pct']:g}%: "
        f"{'met' if g['growth_pct'] < res['growth_limit_pct'] else 'missed'}); peak {g['peak_mib']} MiB, "
        f"{g['samples']} samples. {added}"
        + (
            f" (were all the growth the data's: {per:+.2f} MiB per 1,000 memories added)."
            if per is not None
            else "."
        )
    )


def section(res: dict[str, Any]) -> str:
    ops = res["ops"]
    errors = sum(ops[op]["errors"] for op in ops if not op.startswith("inject-"))
    requests = sum(ops[op]["requests"] for op in ops if not op.startswith("inject-"))
    lines = [
        "## Soak: the mix for a long run, memory sampled (benchmarks/soak.py)",
        "",
        f"Machine: {res['machine']}. Revision {res['revision']}. Command: `{res['command']}`.",
        *res["setup"],
        f"Rate: {res['rate']:g} requests/s of the mix ({res['rate_source']}) for {res['seconds']:g} s; "
        f"server RSS every {res['sample_seconds']:g} s; warm-up {res['warmup_seconds']:g} s, windows of "
        f"{res['window_seconds']:g} s. Contention probe {res['probe_ms']} ms (~3.6 ms quiet).",
        "",
        memory_line(res),
        f"- Errors: {errors} of {requests} requests"
        + (
            " (aim: none, met)."
            if not errors
            else ": "
            + "; ".join(f"{op} {ops[op]['error_statuses']}" for op in ops if ops[op]["errors"])
            + " (aim: none, missed)."
        ),
        "- Latency drift, p95 ms, first window after warm-up -> last window: "
        + "; ".join(f"{op} {_ms(res['drift']['first'][op])} -> {_ms(res['drift']['last'][op])}" for op in OPS)
        + ".",
        f"- Generator: send lag p99 {res['health']['lag_p99']} ms, max {res['health']['lag_max']} ms "
        + (
            "(on schedule)."
            if res["health"]["on_schedule"]
            else "(behind its schedule: latencies not valid)."
        ),
        *(
            []
            if res.get("reniced", True)
            else ["- The generator could not raise its priority (not root): --generator-nice had no effect."]
        ),
        "",
        "| operation | requests | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
        *(
            f"| {op} | {e['requests']} | {_ms(e['p50'])} | {_ms(e['p95'])} | {_ms(e['p99'])} | "
            f"{e['errors']} |"
            for op, e in ops.items()
        ),
        "",
        "Per minute (p95 ms; RSS: the last sample in the minute):",
        "",
        "| minute | requests | inject p95 | write p95 | search p95 | errors | RSS MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in res["minutes"]:
        in_minute = [b for t, b in res["rss"] if m["minute"] * 60 <= t < (m["minute"] + 1) * 60]
        rss = f"{in_minute[-1] / 2**20:.0f}" if in_minute else "-"
        lines.append(
            f"| {m['minute']} | {m['requests']} | {_ms(m['inject_p95'])} | {_ms(m['write_p95'])} | "
            f"{_ms(m['search_p95'])} | {m['errors']} | {rss} |"
        )
    lines += ["", "![Memory and p95 over the soak](docs/soak.png)"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common(parser, plot="soak.png")
    soak = parser.add_argument_group("the soak")
    soak.add_argument(
        "--rate",
        type=float,
        default=None,
        help="requests/s of the mix (default: half the highest rate in <workdir>/load-results.json)",
    )
    soak.add_argument("--seconds", type=float, default=1800.0, help="length of the soak (default 1800)")
    soak.add_argument("--sample-seconds", type=float, default=10.0, help="RSS sampling period (default 10)")
    soak.add_argument(
        "--warmup-seconds",
        type=float,
        default=None,
        help="start of the run not judged for growth (default: a sixth of --seconds, at most 300)",
    )
    soak.add_argument(
        "--window-seconds",
        type=float,
        default=None,
        help="length of the first and last windows compared (default: a sixth of --seconds, at most 300)",
    )
    soak.add_argument(
        "--growth-limit", type=float, default=5.0, help="aim for RSS growth, percent (default 5)"
    )
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="measure nothing: redraw the plot and rewrite the section from <workdir>/soak-results.json",
    )
    args = parser.parse_args()
    check_common(parser, args)
    if not args.seconds > 0 or not args.sample_seconds > 0:
        parser.error("--seconds and --sample-seconds must be > 0")
    if args.rate is not None and not args.rate > 0:
        parser.error(f"--rate must be > 0 requests/s, got {args.rate}")
    warmup = min(300.0, args.seconds / 6) if args.warmup_seconds is None else args.warmup_seconds
    window = min(300.0, args.seconds / 6) if args.window_seconds is None else args.window_seconds
    if warmup < 0 or not window > 0 or warmup + 2 * window > args.seconds:
        parser.error(
            f"--warmup-seconds ({warmup:g}) + two --window-seconds ({window:g}) must fit in --seconds "
            f"({args.seconds:g}), the windows not overlapping"
        )
    if window < args.sample_seconds:
        parser.error(f"--window-seconds ({window:g}) must hold a sample: at least --sample-seconds")
    saved = args.workdir / "soak-results.json"
    if args.from_results:
        if not saved.exists():
            parser.error(f"--from-results: no {saved}; run without it first")
        res = json.loads(saved.read_text())
    else:
        args.workdir.mkdir(parents=True, exist_ok=True)
        rate, rate_source = (args.rate, "given") if args.rate is not None else rate_from_load(args.workdir)
        command = " ".join(["python benchmarks/soak.py", *sys.argv[1:]])
        res = measure(args, rate, rate_source, warmup, window, command)
        saved.write_text(json.dumps(res, indent=1))
    text = section(res)
    print(text)
    if not args.no_plot:
        from _load_plot import plot_soak

        plot_soak(
            res["rss"],
            res["minutes"],
            res["warmup_seconds"],
            res["window_seconds"],
            res["seconds"],
            res["plot_title"],
            args.plot,
        )
        print(f"plot: {args.plot}")
    if not args.no_write:
        write_section("soak", text, args.out)
        print(f"section 'soak' written to {args.out or 'BENCHMARKS.md'}")


def measure(
    args: argparse.Namespace, rate: float, rate_source: str, warmup: float, window: float, command: str
) -> dict[str, Any]:
    """Seed (or reuse), serve a fresh copy, run the one long schedule; the results as saved."""
    from injection import contention_probe

    print(
        f"seeding {args.memories:,} memories ({args.agents} agents, {args.namespaces} namespaces)", flush=True
    )
    seeded = seed(args.workdir, args.memories, args.agents, args.namespaces)
    mix = workload(args)
    arrivals = mix.arrivals(rate, args.seconds, args.arrivals)
    db = fresh_copy(seeded, args.workdir / "soak-run.db")
    memories_before, _ = count_memories(db)
    server = start_server(db, args.workdir, args.embedder, args.tier_interval)
    rss: list[tuple[float, int]] = []
    try:
        print(f"server pid {server.pid}; soaking {args.seconds:g} s at {rate:g} requests/s", flush=True)
        probe = contention_probe()
        sessions = open_sessions(server.url, seeded.agents)
        started = time.monotonic()

        def sample(t: float) -> None:
            rss.append((round(t, 2), rss_bytes(server.pid)))
            if len(rss) % 6 == 1:
                print(f"  {t:6.0f} s: RSS {rss[-1][1] / 2**20:.0f} MiB", flush=True)

        result = run_schedule(
            server.url,
            seeded.agents,
            sessions,
            arrivals,
            generators=args.generators,
            timeout_s=args.timeout,
            nice=args.generator_nice,
            sample=sample,
            sample_every_s=args.sample_seconds,
        )
        sample(time.monotonic() - result.started_at)
        memories_after, backlog = count_memories(db)
        print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    finally:
        stop_server(server)
    records = result.records
    end = args.seconds
    revision = git_revision()
    rss_growth = growth(rss, (warmup, warmup + window), (end - window, end))
    added = memories_after - memories_before
    if added > 0 and rss_growth["growth_pct"] is not None:
        rss_growth["mib_per_1000_added"] = round(
            (rss_growth["last_mib"] - rss_growth["first_mib"]) / added * 1000, 2
        )
    return {
        "command": command,
        "machine": machine(),
        "revision": revision,
        "setup": setup_text(args, seeded.info, server.index_load_s),
        "rate": rate,
        "rate_source": rate_source,
        "seconds": args.seconds,
        "sample_seconds": args.sample_seconds,
        "warmup_seconds": warmup,
        "window_seconds": window,
        "growth_limit_pct": args.growth_limit,
        "probe_ms": probe,
        "ops": summarize(records),
        "health": generator_health(records, args.seconds, args.max_lag_ms),
        "minutes": per_minute(records),
        "rss": rss,
        "growth": rss_growth,
        "drift": {
            "first": window_p95(records, warmup, warmup + window),
            "last": window_p95(records, end - window, end),
        },
        "memories_before": memories_before,
        "memories_after": memories_after,
        "memories_growth_pct": round(added / memories_before * 100, 2),
        "backlog_at_end": backlog,
        "error_samples": result.error_samples[:10],
        "reniced": result.reniced,
        "plot_title": (
            f"memory-system soak: {rate:g} requests/s of the mix for {args.seconds:g} s, "
            f"{args.memories:,} memories, embedder {args.embedder}\n{os.cpu_count()} cores (contention probe "
            f"{probe} ms; ~3.6 quiet), revision {revision}; RSS growth after warm-up "
            + ("n/a" if rss_growth["growth_pct"] is None else f"{rss_growth['growth_pct']:+.2f}%")
        ),
    }


if __name__ == "__main__":
    main()
