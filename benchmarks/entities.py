"""Phase 1 entity memory at size: memory.jsonl import/export and graph reads.

    python benchmarks/entities.py [--entities 10000] [--no-write] [--save-json F] [--baseline F]

Builds a reference-format memory.jsonl with N entities (3 observations each) and 2N
relations, imports it into a fresh database, exports it, and times the read calls an agent
makes (search_nodes, open_nodes, read_graph) and the lookups injection makes per cache miss
(``Injector._entity_items``: one open_nodes, up to three one-word searches).
Observations are drawn from a 4,000-word vocabulary with Zipf frequencies; a "typical
word" is any vocabulary word alike (a content word, as injection picks the query's longest
words), and the most common word shows the worst case. Writes its section of BENCHMARKS.md;
``--baseline`` adds the numbers a run of an older revision saved with ``--save-json``.
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
from _report import git_revision, machine, write_section

from memory_system.memory.graph.entities import Entity, KnowledgeGraph
from memory_system.memory.graph.jsonl import export_jsonl, import_jsonl
from memory_system.ops import schema
from memory_system.store.connection import Database

TYPES = "person project service library decision incident module team tool concept".split()
RELATIONS = "uses owns depends_on wrote replaced mentions".split()
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def vocabulary(rng: random.Random, size: int = 4000) -> tuple[list[str], list[float]]:
    """Distinct made-up words of 4-10 letters and their Zipf weights (rank 1 most common)."""
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choices(LETTERS, k=rng.randint(4, 10)))] = None
    return list(words), [1 / rank for rank in range(1, size + 1)]


def build_file(path: Path, n: int, rng: random.Random, vocab: tuple[list[str], list[float]]) -> None:
    words, weights = vocab
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            obs = [" ".join(rng.choices(words, weights, k=rng.randint(8, 14))) for _ in range(3)]
            out.write(
                json.dumps(
                    {
                        "type": "entity",
                        "name": f"entity_{i}",
                        "entityType": rng.choice(TYPES),
                        "observations": obs,
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
        for _ in range(2 * n):
            a, b = rng.randrange(n), rng.randrange(n)
            out.write(
                json.dumps(
                    {
                        "type": "relation",
                        "from": f"entity_{a}",
                        "to": f"entity_{b}",
                        "relationType": rng.choice(RELATIONS),
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )


def injection_lookups(graph: KnowledgeGraph, words: list[str], *, limited: bool) -> None:
    """What ``Injector._entity_items`` asks the graph on a cache miss for a 3-word query:
    one open_nodes, then per word all matches with their relations (``search_nodes``, as
    injection.py does now) or only the first 8 entities (``list_entities(limit=8)``)."""
    grams = {" ".join(words[i : i + k]) for k in (1, 2, 3) for i in range(len(words) - k + 1)}
    graph.open_nodes(sorted(grams | {g.title() for g in grams}), "bench")
    for word in words:
        if limited:
            graph.list_entities("bench", query=word, limit=8)
        else:
            graph.search_nodes(word, "bench").entities[:8]


def per_word(graph: KnowledgeGraph, words: list[str]) -> list[tuple[int, float]]:
    """(entities found, ms) of search_nodes for each word."""
    out = []
    for word in words:
        start = time.perf_counter()
        found = len(graph.search_nodes(word, "bench").entities)
        out.append((found, (time.perf_counter() - start) * 1000))
    return out


def p50_p95(samples: list[float]) -> str:
    samples = sorted(samples)
    if not samples:
        return "-"
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    return f"{statistics.median(samples):.2f} / {p95:.2f} ms"


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--save-json", type=Path, help="also write the table's times here (for --baseline)")
    parser.add_argument("--label", help="the revision to name in --save-json (default: git's)")
    parser.add_argument("--baseline", type=Path, help="a --save-json file of an older run: adds its column")
    args = parser.parse_args()
    rng = random.Random(7)
    vocab = vocabulary(rng)
    n = args.entities
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        source, db_path = Path(tmp) / "memory.jsonl", Path(tmp) / "memory.db"
        build_file(source, n, rng, vocab)
        schema.migrate(db_path)
        db = Database(db_path)
        graph = KnowledgeGraph(db)
        start = time.perf_counter()
        summary = import_jsonl(graph, source, "bench")
        import_s = time.perf_counter() - start
        size_mb = sum(f.stat().st_size for f in (db_path, Path(f"{db_path}-wal")) if f.exists()) / 2**20
        start = time.perf_counter()
        export_jsonl(graph, Path(tmp) / "out.jsonl", "bench")
        export_s = time.perf_counter() - start
        typical = rng.choices(vocab[0], k=400)  # content words: any rank alike
        words = iter(typical * 10)
        per_word(graph, typical[:20])  # warm the caches
        measured = per_word(graph, typical[:300])
        common = timed(lambda: graph.search_nodes(vocab[0][0], "bench"), 10)
        common_hits = len(graph.search_nodes(vocab[0][0], "bench").entities)
        search_miss = timed(lambda: graph.search_nodes("no such text", "bench"), 50)
        short = timed(lambda: graph.search_nodes("qz", "bench"), 10)
        inject_all = timed(
            lambda: injection_lookups(graph, [next(words) for _ in range(3)], limited=False), 100
        )
        inject_8 = timed(lambda: injection_lookups(graph, [next(words) for _ in range(3)], limited=True), 100)
        open_10 = timed(
            lambda: graph.open_nodes([f"entity_{rng.randrange(n)}" for _ in range(10)], "bench"), 50
        )
        read_all = timed(lambda: graph.read_graph("bench"), 5)
        batch = iter(range(10**6))
        create_100 = timed(
            lambda: graph.create_entities(
                [Entity(f"new_{next(batch)}", "t", ("o",)) for _ in range(100)], "bench"
            ),
            20,
        )
        db.close()
    rows = [
        (
            "import memory.jsonl (one transaction)",
            f"{import_s:.2f} s",
            f"{summary.entities_created:,} entities, {summary.observations_added:,} observations, "
            f"{summary.relations_created:,} relations",
        ),
        ("export memory.jsonl (temp + rename)", f"{export_s:.2f} s", ""),
        ("database file after the import", f"{size_mb:.1f} MiB", "main file + WAL"),
        (
            "search_nodes, typical word (p50 / p95)",
            p50_p95([ms for _, ms in measured]),
            f"300 words; median {statistics.median(h for h, _ in measured):.0f} entities found, "
            f"max {max(h for h, _ in measured):,}",
        ),
        (
            "search_nodes, typical word finding <= 100 entities",
            p50_p95([ms for h, ms in measured if h <= 100]),
            f"{sum(h <= 100 for h, _ in measured)} of the 300 words",
        ),
        (
            "search_nodes, typical word finding > 100 entities",
            p50_p95([ms for h, ms in measured if h > 100]),
            f"{sum(h > 100 for h, _ in measured)} of the 300 words: time grows with what is returned",
        ),
        (
            "search_nodes, most common word (p50 / p95)",
            f"{common[0]:.1f} / {common[1]:.1f} ms",
            f"{common_hits:,} entities found, with their relations",
        ),
        ("search_nodes, no match (p50 / p95)", f"{search_miss[0]:.2f} / {search_miss[1]:.2f} ms", ""),
        (
            "search_nodes, 2-character query (p50 / p95)",
            f"{short[0]:.1f} / {short[1]:.1f} ms",
            "shorter than a trigram: full scan",
        ),
        (
            "injection lookups per cache miss, search_nodes (p50 / p95)",
            f"{inject_all[0]:.2f} / {inject_all[1]:.2f} ms",
            "open_nodes of a 3-word query's n-grams + 3 search_nodes, first 8 kept (injection.py now)",
        ),
        (
            "injection lookups per cache miss, limit 8 (p50 / p95)",
            f"{inject_8[0]:.2f} / {inject_8[1]:.2f} ms",
            "the same with list_entities(query=word, limit=8)",
        ),
        ("open_nodes, 10 names (p50 / p95)", f"{open_10[0]:.2f} / {open_10[1]:.2f} ms", ""),
        ("read_graph (p50)", f"{read_all[0]:.0f} ms", "whole namespace"),
        ("create_entities, 100 per call (p50 / p95)", f"{create_100[0]:.1f} / {create_100[1]:.1f} ms", ""),
    ]
    if args.save_json:
        args.save_json.write_text(
            json.dumps(
                {
                    "revision": args.label or git_revision(),
                    "load": round(load, 1),
                    "times": {a: b for a, b, _ in rows},
                },
                indent=1,
            )
        )
    before = json.loads(args.baseline.read_text()) if args.baseline else None
    head = ["| operation | time | note |", "|---|---|---|"]
    lines = [f"| {a} | {b} | {c} |" for a, b, c in rows]
    if before is not None:
        head = [
            f"| operation | time | before ({before['revision']}, load {before['load']}) | note |",
            "|---|---|---|---|",
        ]
        lines = [f"| {a} | {b} | {before['times'].get(a, '-')} | {c} |" for a, b, c in rows]
    body = "\n".join(
        [
            f"## Entity memory (Phase 1): {n:,} entities, {3 * n:,} observations, {2 * n:,} relations",
            "",
            f"`python benchmarks/entities.py --entities {n}` at {git_revision()}; {machine()}; "
            f"load average {load:.1f} at start (other work was running: treat as upper bounds).",
            "",
            "search_nodes narrows its candidates with trigram FTS5 indexes over names, types and"
            " observations (migration 004) and re-checks them with str.lower(); a query shorter than"
            " 3 characters, or holding a character whose case SQLite may fold otherwise than Python,"
            " scans as before (the same SQL). The indexes are paid for at write time and in file size.",
            "",
            *head,
            *lines,
        ]
    )
    print(body)
    if not args.no_write:
        write_section("entities", body)


if __name__ == "__main__":
    main()
