"""Command-line options that load.py and soak.py share, and the setup both describe in their report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from _load_schedule import Workload, parse_mix

__all__ = ["add_common", "check_common", "setup_text", "workload"]

ROOT = Path(__file__).resolve().parents[1]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def add_common(parser: argparse.ArgumentParser, *, plot: str) -> None:
    data = parser.add_argument_group("data (seeded once per size into --workdir, then copied per run)")
    data.add_argument(
        "--memories", type=_positive_int, default=100_000, help="memories seeded (default 100000)"
    )
    data.add_argument("--namespaces", type=_positive_int, default=50, help="namespaces (default 50)")
    data.add_argument(
        "--agents", type=_positive_int, default=200, help="agents, one token each, round-robin (default 200)"
    )
    load = parser.add_argument_group("the mix")
    load.add_argument(
        "--mix",
        default="inject=70,write=20,search=10",
        help="shares of the mix's requests (default inject=70,write=20,search=10)",
    )
    load.add_argument(
        "--repeat-share",
        type=float,
        default=0.5,
        help="share of injections that repeat one of their agent's recurring questions (default 0.5)",
    )
    load.add_argument(
        "--repeat-pool", type=_positive_int, default=5, help="recurring questions per agent (default 5)"
    )
    load.add_argument(
        "--session-every",
        type=_positive_float,
        default=20.0,
        help="a session rotation (open new, end old) per this many mix requests (default 20)",
    )
    load.add_argument(
        "--arrivals",
        choices=["poisson", "uniform"],
        default="poisson",
        help="gaps between planned sends: Poisson (bursty, as independent agents) or even (default poisson)",
    )
    load.add_argument("--seed", type=int, default=42, help="seed of the schedule and the mix (default 42)")
    server = parser.add_argument_group("the service")
    server.add_argument(
        "--embedder",
        choices=["minilm", "none"],
        default="minilm",
        help="the service's embedder: minilm (production: the bundled MiniLM, offline; the background "
        "worker embeds every write) or none (full text only) (default minilm)",
    )
    server.add_argument(
        "--tier-interval",
        type=_positive_float,
        default=60.0,
        help="seconds between tier maintenance passes, so they run during the measurement (default 60)",
    )
    gen = parser.add_argument_group("the generator")
    gen.add_argument(
        "--generators",
        type=_positive_int,
        default=1,
        help="generator processes (agents split between them); raise it when a step says the generator "
        "fell behind (default 1)",
    )
    gen.add_argument(
        "--generator-nice",
        type=int,
        default=-5,
        help="added to the generator processes' nice value: negative puts them ahead of the server on "
        "shared cores, so the schedule is kept (needs root; 0 leaves it) (default -5)",
    )
    gen.add_argument(
        "--max-lag-ms",
        type=_positive_float,
        default=10.0,
        help="a step whose send lag p99 exceeds this is invalid: the generator fell behind (default 10)",
    )
    gen.add_argument(
        "--timeout", type=_positive_float, default=30.0, help="seconds before a request counts as an error"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/memory-system-load-bench"),
        help="seeded databases, the run's copy, server.log and results JSON (default %(default)s)",
    )
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        help="markdown file to write the section into (default BENCHMARKS.md; use a copy for trial runs)",
    )
    out.add_argument("--no-write", action="store_true", help="print the section; write no markdown file")
    out.add_argument(
        "--plot", type=Path, default=ROOT / "docs" / plot, help=f"PNG to write (default docs/{plot})"
    )
    out.add_argument("--no-plot", action="store_true", help="draw no plot")


def check_common(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Cross-option checks, each a clear error naming the option."""
    try:
        args.mix_parsed = parse_mix(args.mix)
    except ValueError as exc:
        parser.error(str(exc))
    if not 0 <= args.repeat_share <= 1:
        parser.error(f"--repeat-share must be between 0 and 1, got {args.repeat_share}")
    if args.namespaces > args.agents:
        parser.error(f"--namespaces ({args.namespaces}) cannot exceed --agents ({args.agents})")
    if args.memories < args.agents:
        parser.error(f"--memories ({args.memories}) must be at least --agents ({args.agents})")
    if args.generators > args.agents:
        parser.error(f"--generators ({args.generators}) cannot exceed --agents ({args.agents})")


def workload(args: argparse.Namespace) -> Workload:
    from injection import corpus

    _, bases, questions = corpus()
    return Workload(
        agents=args.agents,
        mix=args.mix_parsed,
        questions=questions,
        bases=bases,
        seed=args.seed,
        repeat_share=args.repeat_share,
        repeat_pool=args.repeat_pool,
        session_every=args.session_every,
    )


def setup_text(args: argparse.Namespace, seed_info: dict[str, Any], index_load_s: float) -> list[str]:
    """The lines every report starts with: data, service, load, generator."""
    mix = args.mix_parsed
    return [
        f"Data: {args.memories:,} memories across {args.namespaces} namespaces and {args.agents} agents "
        f"({seed_info.get('corpus', 'generated text')}, each with its own tag), seeded through the service "
        "layer (`MemoryService.create_batch`, the batch ingest path) with the model's vector of each text; "
        "one token per agent from `memory-system tokens create`; each run on a fresh copy.",
        f"Service: `memory-system serve` (agent tokens, not `--dev`), all three flags on, embedder "
        f"`{args.embedder}` (the background worker embeds every write), tier maintenance every "
        f"{args.tier_interval:g} s; its start-up index load took {index_load_s} s and was waited for.",
        f"Mix: {mix.inject:.0%} injections ({args.repeat_share:.0%} of them one of the agent's "
        f"{args.repeat_pool} recurring questions, the rest never asked before), {mix.write:.0%} writes "
        f"(a quarter to the session's working tier), {mix.search:.0%} searches (k 10); besides, a session "
        f"rotation (open a new one, end the old) per {args.session_every:g} requests; token budget 1,000.",
        f"Generator: {args.generators} process(es) separate from the server, on the same cores"
        + (f" at nice {args.generator_nice:+d} (ahead of the server)" if args.generator_nice < 0 else "")
        + "; "
        f"{args.arrivals} arrivals on a schedule fixed before each step (open loop); latency counted "
        f"from each request's planned send time; a step whose send lag p99 passes {args.max_lag_ms:g} ms "
        "is marked invalid (the generator fell behind). Errors: any status other than the operation's "
        f"success, no answer, or no answer within {args.timeout:g} s.",
    ]
