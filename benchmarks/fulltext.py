"""Full-text search at 100k memories in one namespace: joined ranking vs rank-then-recheck.

Usage: python benchmarks/fulltext.py [--memories 100000] [--queries 200]
Needs ../shared/data/locomo/locomo_dev.json (the LoCoMo dialogue turns are the documents,
repeated with a tag to reach the size; the questions are the queries). Builds a database in a
temp dir through MemoryService.create_batch, then times store.search.fulltext_search against
the single joined query it replaced, interleaved, and checks both return the same top 60.
Writes the "fulltext" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, write_section  # noqa: E402

LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo" / "locomo_dev.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    if not LOCOMO.exists():
        sys.exit(f"needs the LoCoMo data at {LOCOMO} (the project's shared/ folder); not found")

    from memory_system.memory.events import MemoryEvents
    from memory_system.memory.memories import MemoryService
    from memory_system.ops import schema
    from memory_system.store import search
    from memory_system.store.connection import Database
    from memory_system.store.visibility import visible_sql

    data = json.loads(LOCOMO.read_text())
    turns = [t["text"] for conv in data for key, session in conv["conversation"].items()
             if key.startswith("session_") and isinstance(session, list) for t in session]
    questions = [q["question"] for conv in data for q in conv["qa"] if q.get("category") in (1, 2, 3, 4)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fulltext.db"
        schema.migrate(path)
        db = Database(path)
        service = MemoryService(db, MemoryEvents())
        start = time.perf_counter()
        for base in range(0, args.memories, 1000):
            batch = [{"content": f"{turns[i % len(turns)]} (ref {i})"}
                     for i in range(base, min(base + 1000, args.memories))]
            service.create_batch(namespace="bench", agent_id="bench", items=batch)
        fill_s = time.perf_counter() - start
        conn = db.reader()
        where, params = visible_sql("m", agent_id="bench", namespace="bench", sharing_enabled=True)

        def joined(query: str) -> list[tuple[int, float]]:
            terms = search.query_terms(query)
            rows = conn.execute(
                f"SELECT m.id, -bm25(memories_fts, {search.CONTENT_WEIGHT}, {search.CONTEXT_WEIGHT}, 0.0)"
                " AS score FROM memories_fts CROSS JOIN memories m ON m.id = memories_fts.rowid"
                f" WHERE memories_fts MATCH :q AND {where} ORDER BY score DESC LIMIT 60",
                {**params, "q": search.match_expression("bench", terms)},
            ).fetchall()
            return [(int(r[0]), float(r[1])) for r in rows]

        def two_stage(query: str) -> list[tuple[int, float]]:
            return search.fulltext_search(conn, "bench", search.query_terms(query), where, params, 60)

        times: dict[str, list[float]] = {"joined": [], "two_stage": []}
        same = 0
        for query in questions[: args.queries]:
            results = []
            for name, fn in (("joined", joined), ("two_stage", two_stage)):
                t0 = time.perf_counter()
                results.append(fn(query))
                times[name].append((time.perf_counter() - t0) * 1000)
            same += results[0] == results[1]
        db.close()

    def p(name: str, q: float) -> float:
        return float(np.percentile(times[name], q))

    n = min(args.queries, len(questions))
    lines = [
        f"## Full-text search at {args.memories:,} memories in one namespace (FTS5 BM25, top 60)",
        "",
        f"Machine: {machine()}. Revision {git_revision()}.",
        f"Command: `python benchmarks/fulltext.py --memories {args.memories} --queries {args.queries}`; "
        f"documents: LoCoMo dev turns, tagged to reach the size (filled in {fill_s:.0f} s); "
        f"queries: {n} LoCoMo questions, each run both ways, interleaved.",
        "",
        "| query | p50 ms | p95 ms |",
        "|---|---|---|",
        f"| one query joining every match to `memories` for visibility | {p('joined', 50):.1f} | {p('joined', 95):.1f} |",
        f"| rank in the index, re-check the top 200 by rowid (shipped) | {p('two_stage', 50):.1f} | {p('two_stage', 95):.1f} |",
        "",
        f"Same top 60 from both: {same} of {n} queries.",
    ]
    write_section("fulltext", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
