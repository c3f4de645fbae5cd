"""Dense search at 100,000 memories in one namespace: numpy matrix vs sqlite-vec, exact, k = 50.

Usage: python benchmarks/vector_search.py [--n 100000] [--queries 100]

Why it exists: the retrieval service keeps vectors durably in SQLite (sqlite-vec's float32
layout) and searches whole namespaces with an in-memory matrix (memory/vector_index.py), using
sqlite-vec only where SQL narrows the scope first. This measures that choice on the real
store: ``memory_embeddings`` filled with random unit vectors (timing does not depend on
content), the same SQL the service runs. Writes the "vector-search" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, percentile, write_section

DIM = 384


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    from memory_system.memory.embeddings import to_blob
    from memory_system.memory.vector_index import VectorIndex
    from memory_system.ops import schema
    from memory_system.store import embeddings as vec_store
    from memory_system.store.connection import Database
    from memory_system.store.visibility import visible_sql

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((args.n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((args.queries, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    small_agent_every = 100  # 1% of the namespace belongs to agent "small": a narrow scope

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.db"
        schema.migrate(path)
        db = Database(path)
        with db.write() as conn:
            conn.executemany(
                "INSERT INTO memories (id, namespace, agent_id, content, content_hash) VALUES (?, 'ns', ?, 'x', ?)",
                [(i + 1, "small" if i % small_agent_every == 0 else "big", str(i)) for i in range(args.n)])
            vec_store.write_vectors(conn, [(i + 1, "ns", to_blob(v)) for i, v in enumerate(vectors)], "m", DIM)
        reader = db.reader()
        t0 = time.perf_counter()
        index = VectorIndex(DIM, lambda ns: vec_store.namespace_vectors(reader, ns, "m", DIM))
        index.ensure_loaded("ns")
        load_s = time.perf_counter() - t0

        def timed(fn: object) -> tuple[float, float]:
            out = []
            for q in queries:
                start = time.perf_counter()
                fn(q)  # type: ignore[operator]
                out.append((time.perf_counter() - start) * 1000)
            return percentile(out, 50), percentile(out, 95)

        rows: list[tuple[str, tuple[float, float]]] = []
        rows.append((f"numpy matrix, whole namespace ({args.n:,})", timed(lambda q: index.search("ns", q, 50))))
        vec_store.load_sqlite_vec(reader)
        where_all, p_all = visible_sql("m", agent_id="big", namespace="ns", sharing_enabled=False)
        rows.append((f"sqlite-vec vec_distance_cosine, whole namespace ({args.n:,})", timed(
            lambda q: vec_store.exact_search(reader, to_blob(q), "m", DIM, where_all, p_all, 50))))
        where_small, p_small = visible_sql("m", agent_id="small", namespace="ns", sharing_enabled=False)
        rows.append((f"sqlite-vec, scope narrowed by SQL to one agent ({args.n // small_agent_every:,})", timed(
            lambda q: vec_store.exact_search(reader, to_blob(q), "m", DIM, where_small, p_small, 50))))
        db.close()

    lines = [
        "## Vector search at 100k in one namespace (benchmarks/vector_search.py)",
        "",
        (f"`python benchmarks/vector_search.py --n {args.n}` at {git_revision()}; {machine()}; "
         f"{args.queries} queries, k = 50, exact cosine, random unit vectors; measured while other work ran "
         f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)."),
        "",
        "| method | p50 ms | p95 ms |",
        "|---|---|---|",
        *[f"| {name} | {p50:.1f} | {p95:.1f} |" for name, (p50, p95) in rows],
        "",
        (f"Loading the namespace's {args.n:,} stored vectors into the matrix: {load_s:.2f} s (once per process, "
         "lazily, on the first search of that namespace). Choice: the matrix for whole-namespace search "
         "(the injection path), sqlite-vec when the caller's visible scope is a small part of a crowded "
         "namespace (SQL narrows first, then exact distance on the few rows)."),
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("vector-search", text)


if __name__ == "__main__":
    main()
