"""Phase 1 entity memory at size: memory.jsonl import/export and graph reads.

    python benchmarks/entities.py [--entities 10000] [--no-write]

Builds a reference-format memory.jsonl with N entities (3 observations each) and 2N
relations, imports it into a fresh database, exports it, and times the read calls an agent
makes (search_nodes, open_nodes, read_graph). Writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import git_revision, machine, write_section  # noqa: E402

from memory_system.memory.entities import Entity, KnowledgeGraph  # noqa: E402
from memory_system.memory.jsonl import export_jsonl, import_jsonl  # noqa: E402
from memory_system.ops import schema  # noqa: E402
from memory_system.store.connection import Database  # noqa: E402

WORDS = "alpha beta gamma delta engine parser cache index router token schema query worker".split()


def build_file(path: Path, n: int, rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            obs = [" ".join(rng.choices(WORDS, k=8)) + f" #{i}.{j}" for j in range(3)]
            out.write(json.dumps({"type": "entity", "name": f"entity_{i}", "entityType": rng.choice(WORDS),
                                  "observations": obs}, separators=(",", ":")) + "\n")
        for i in range(2 * n):
            a, b = rng.randrange(n), rng.randrange(n)
            out.write(json.dumps({"type": "relation", "from": f"entity_{a}", "to": f"entity_{b}",
                                  "relationType": rng.choice(WORDS)}, separators=(",", ":")) + "\n")


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(round(0.95 * len(samples))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    rng = random.Random(7)
    n = args.entities
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        source, db_path = Path(tmp) / "memory.jsonl", Path(tmp) / "memory.db"
        build_file(source, n, rng)
        schema.migrate(db_path)
        db = Database(db_path)
        graph = KnowledgeGraph(db)
        start = time.perf_counter()
        summary = import_jsonl(graph, source, "bench")
        import_s = time.perf_counter() - start
        start = time.perf_counter()
        export_jsonl(graph, Path(tmp) / "out.jsonl", "bench")
        export_s = time.perf_counter() - start
        search = timed(lambda: graph.search_nodes(rng.choice(WORDS) + " " + rng.choice(WORDS), "bench"), 20)
        search_miss = timed(lambda: graph.search_nodes("no such text", "bench"), 20)
        open_10 = timed(lambda: graph.open_nodes([f"entity_{rng.randrange(n)}" for _ in range(10)], "bench"), 50)
        read_all = timed(lambda: graph.read_graph("bench"), 5)
        batch = iter(range(10**6))
        create_100 = timed(lambda: graph.create_entities(
            [Entity(f"new_{next(batch)}", "t", ("o",)) for _ in range(100)], "bench"), 20)
        db.close()
    rows = [
        ("import memory.jsonl (one transaction)", f"{import_s:.2f} s",
         f"{summary.entities_created:,} entities, {summary.observations_added:,} observations, "
         f"{summary.relations_created:,} relations"),
        ("export memory.jsonl (temp + rename)", f"{export_s:.2f} s", ""),
        ("search_nodes, 2-word query (p50 / p95)", f"{search[0]:.1f} / {search[1]:.1f} ms", "substring scan"),
        ("search_nodes, no match (p50 / p95)", f"{search_miss[0]:.1f} / {search_miss[1]:.1f} ms", ""),
        ("open_nodes, 10 names (p50 / p95)", f"{open_10[0]:.2f} / {open_10[1]:.2f} ms", ""),
        ("read_graph (p50)", f"{read_all[0]:.0f} ms", "whole namespace"),
        ("create_entities, 100 per call (p50 / p95)", f"{create_100[0]:.1f} / {create_100[1]:.1f} ms", ""),
    ]
    body = "\n".join([
        f"## Entity memory (Phase 1): {n:,} entities, {3 * n:,} observations, {2 * n:,} relations",
        "",
        f"`python benchmarks/entities.py --entities {n}` at {git_revision()}; {machine()}; "
        f"load average {load:.1f} at start (other work was running: treat as upper bounds).",
        "",
        "| operation | time | note |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
    ])
    print(body)
    if not args.no_write:
        write_section("entities", body)


if __name__ == "__main__":
    main()
