"""Dense search at 100,000 memories in one namespace: numpy matrix vs sqlite-vec vs HNSW graph.

Usage: python benchmarks/vector_search.py [--n 100000] [--queries 100] [--hnsw-sizes 10000,100000]
       [--sweep] [--no-write]

Why it exists: the retrieval service keeps vectors durably in SQLite (sqlite-vec's float32
layout) and searches whole namespaces with an in-memory matrix (memory/retrieval/vector_index.py), using
sqlite-vec only where SQL narrows the scope first. This measures that choice on the real
store: ``memory_embeddings`` filled with random unit vectors (timing does not depend on
content), the same SQL the service runs.

The HNSW part measures ``VectorIndex``'s graph path (usearch, built on its background thread,
candidates rescored from the float32 matrix) against its exact scan, in one process, queries
interleaved, one BLAS thread (as ``serve`` runs): n = 320 neighbours (what retrieval asks
for), build time, and recall@20 against the exact top 20. Graph search cost and recall depend
on the data (uniform random vectors in 384 dims have no neighbourhood structure, and recall
collapses on them), so recall is measured on real all-MiniLM-L6-v2 vectors (the LoCoMo dev
dialogue turns, observations and summaries, queried by its questions) and the 10k/100k rows
use synthetic unit vectors drawn from a Gaussian with those real vectors' mean and covariance.
``--sweep`` adds the dtype x expansion_search table the defaults were chosen from. Writes the
"vector-search" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, percentile, write_section

DIM = 384
WIDE = 320  # candidates retrieval asks the index for (memory/retrieval/hybrid.py, _dense)
ROOT = Path(__file__).resolve().parents[1]
LOCOMO = ROOT.parent / "shared" / "data" / "locomo" / "locomo_dev.json"
WORKDIR = Path(tempfile.gettempdir()) / "memory-system-vector-bench"


def locomo_texts() -> tuple[list[str], list[str]]:
    """(corpus, questions): every distinct turn, observation, event and session summary."""
    data = json.loads(LOCOMO.read_text())
    texts: dict[str, None] = {}
    questions: dict[str, None] = {}
    for sample in data:
        for key, value in sample["conversation"].items():
            if key.startswith("session_") and isinstance(value, list):
                texts.update((t["text"].strip(), None) for t in value if t["text"].strip())
        for session in sample["observation"].values():
            for facts in session.values():
                texts.update((f[0].strip(), None) for f in facts)
        for events in sample["event_summary"].values():
            for who, items in events.items():
                if who != "date":
                    texts.update((e.strip(), None) for e in items)
        texts.update((v.strip(), None) for v in sample["session_summary"].values())
        questions.update((qa["question"], None) for qa in sample["qa"])
    return list(texts), list(questions)


def real_vectors() -> tuple[np.ndarray, np.ndarray] | None:
    """The model's vectors of the LoCoMo corpus and questions, embedded once and kept in WORKDIR."""
    if not LOCOMO.exists():
        return None
    corpus, questions = locomo_texts()
    digest = hashlib.sha256("\n".join([*corpus, "--", *questions]).encode()).hexdigest()[:12]
    path = WORKDIR / f"locomo-minilm-{digest}.npz"
    if not path.exists():
        from memory_system.memory.retrieval.embeddings import make_embedder

        embedder = make_embedder("minilm")
        if embedder is None:
            return None
        texts = corpus + questions
        print(f"embedding {len(texts)} LoCoMo texts once (kept in {WORKDIR})", flush=True)
        vectors = np.vstack([embedder.encode(texts[i : i + 64]) for i in range(0, len(texts), 64)])
        WORKDIR.mkdir(parents=True, exist_ok=True)
        np.savez(path, corpus=vectors[: len(corpus)], questions=vectors[len(corpus) :])
    saved = np.load(path)
    return saved["corpus"].astype(np.float32), saved["questions"].astype(np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def like_real(real: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """n unit vectors from a Gaussian with the real vectors' mean and covariance (uniform if none)."""
    if real is None:
        return unit(rng.standard_normal((n, DIM)))
    mean = real.mean(axis=0, dtype=np.float64)
    root = np.linalg.cholesky(np.cov(real.T.astype(np.float64)) + 1e-9 * np.eye(DIM))
    return np.vstack(
        [unit(mean + rng.standard_normal((min(20_000, n - i), DIM)) @ root.T) for i in range(0, n, 20_000)]
    )


def top(vectors: np.ndarray, q: np.ndarray, n: int) -> set[int]:
    scores = vectors @ q
    return {int(i) + 1 for i in np.argpartition(-scores, n - 1)[:n]}


def hnsw_measure(
    vectors: np.ndarray,
    queries: np.ndarray,
    label: str,
    *,
    dtype: str | None = None,
    efs: tuple[int | None, ...] = (None,),
) -> list[dict[str, object]]:
    """Build the graph through VectorIndex, then time it against the exact scan, queries interleaved."""
    from memory_system.memory.retrieval import vector_index as vi
    from memory_system.memory.retrieval.embeddings import to_blob

    rows = [(i + 1, to_blob(v)) for i, v in enumerate(vectors)]
    exact = vi.VectorIndex(DIM, lambda ns: iter(rows), hnsw_min_vectors=None)
    graph = vi.VectorIndex(
        DIM, lambda ns: iter(rows), hnsw_min_vectors=1, hnsw_n_share=1.0, hnsw_dtype=dtype or vi.HNSW_DTYPE
    )
    exact.ensure_loaded("ns")
    graph.ensure_loaded("ns")
    t0 = time.perf_counter()
    if not graph.wait_graphs(3600):
        raise SystemExit("the graph was not built within an hour")
    build_s = time.perf_counter() - t0
    space = graph._spaces["ns"]
    assert space.graph is not None
    truth = [top(vectors, q, 20) for q in queries]
    out = []
    for ef in efs:
        space.graph.index.expansion_search = ef or vi.HNSW_EXPANSION_SEARCH
        times: dict[str, list[float]] = {"exact": [], "graph": [], "graph20": []}
        hits = {"graph": 0.0, "graph20": 0.0}
        before = graph.graph_searches
        # Passes, not interleaved queries: a scan between two graph searches evicts the graph
        # from the caches, which serving (graph only) never does. Two rounds share the noise.
        for round_ in range(2):
            for name, index, n in (("exact", exact, WIDE), ("graph", graph, WIDE), ("graph20", graph, 20)):
                for q, want in zip(queries, truth, strict=False):
                    start = time.perf_counter()
                    got = index.search("ns", q, n)
                    times[name].append((time.perf_counter() - start) * 1000)
                    if name != "exact" and round_ == 0:
                        hits[name] += len({i for i, _ in got[:20]} & want) / 20
        assert graph.graph_searches - before == 4 * len(queries), "a search fell back to the scan"
        stats = graph.graph_stats("ns") or {}
        out.append(
            {
                "label": label,
                "vectors": len(vectors),
                "dtype": stats.get("dtype"),
                "ef": space.graph.index.expansion_search,
                "build_s": build_s,
                "exact": (percentile(times["exact"], 50), percentile(times["exact"], 95)),
                "graph": (percentile(times["graph"], 50), percentile(times["graph"], 95)),
                "graph20": (percentile(times["graph20"], 50), percentile(times["graph20"], 95)),
                "recall_wide": hits["graph"] / len(queries),
                "recall_narrow": hits["graph20"] / len(queries),
                "graph_mb": int(stats.get("bytes", 0)) / 1e6,
                "matrix_mb": space.matrix.nbytes / 1e6,
            }
        )
    graph.close()
    return out


def hnsw_section(sizes: list[int], queries_n: int, sweep: bool) -> list[str]:
    from memory_system.memory.retrieval import vector_index as vi

    rng = np.random.default_rng(2)
    real = real_vectors()
    results: list[dict[str, object]] = []
    if real is not None:
        corpus, questions = real
        results += hnsw_measure(corpus, questions, "real MiniLM (LoCoMo)")
    pool = np.vstack(real) if real is not None else None
    data = "Gaussian like real MiniLM" if pool is not None else "uniform random"
    queries = like_real(pool, queries_n, rng)
    vectors = like_real(pool, max(sizes), rng)
    for size in sizes:
        print(f"HNSW at {size:,}", flush=True)
        results += hnsw_measure(vectors[:size], queries, data)
    sweeps: list[dict[str, object]] = []
    if sweep:
        for dtype in ("f16", "f32"):
            if real is not None:
                sweeps += hnsw_measure(
                    real[0], real[1], "real MiniLM (LoCoMo)", dtype=dtype, efs=(64, 128, 256)
                )
            print(f"sweep {dtype} at {max(sizes):,}", flush=True)
            sweeps += hnsw_measure(vectors, queries, data, dtype=dtype, efs=(64, 128, 256))

    def ms(pair: object) -> str:
        p50, p95 = pair  # type: ignore[misc]
        return f"{p50:.2f} / {p95:.2f}"

    lines = [
        "",
        f"### HNSW graph vs exact scan (VectorIndex, n = {WIDE}, one BLAS thread)",
        "",
        (
            f"Defaults: graph from {vi.HNSW_MIN_VECTORS:,} vectors per namespace, searched when n <= "
            f"{vi.HNSW_N_SHARE:.0%} of the namespace, dtype {vi.HNSW_DTYPE}, expansion_search "
            f"{vi.HNSW_EXPANSION_SEARCH}, connectivity 16 (usearch default), built by one background thread; "
            "scores = 1 - the graph's cosine distance (rows below measure the graph at every size and n). "
            "Recall@20 = share of the exact top 20 in the graph path's top 20, asking for n = 320 (as "
            "retrieval does) or n = 20. Queries: the corpus's questions (real) or 200 draws of the same "
            "distribution (synthetic), each method in its own pass, two rounds."
        ),
        "",
        "| vectors | data | exact p50 / p95 ms | graph p50 / p95 ms | graph n=20 p50 / p95 ms | build s | "
        "recall@20 (n=320) | recall@20 (n=20) | graph MB | matrix MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['vectors']:,} | {r['label']} | {ms(r['exact'])} | {ms(r['graph'])} | {ms(r['graph20'])} | "
            f"{r['build_s']:.1f} | {r['recall_wide']:.3f} | {r['recall_narrow']:.3f} | {r['graph_mb']:.0f} | "
            f"{r['matrix_mb']:.0f} |"
            for r in results
        ],
    ]
    lines += [
        "",
        (
            "Choice (memory/retrieval/vector_index.py): the exact scan answers below the threshold, while a "
            "graph is built or rebuilt (a namespace loaded at 100k scans for the build time above) and when "
            "n is over the share; f16, because the sweep shows the same recall as f32 with faster searches, "
            "a faster build and half the graph memory; expansion_search 256, the smallest value in the "
            "sweep with recall@20 >= 0.95 at n = 20 on the 100k vectors (retrieval asks for n >= 256, where "
            "ef does not matter); the threshold where the graph starts to beat the scan at n = 320. The "
            "float32 matrix stays beside the graph (matrix MB above: allocated, 1/8 headroom) for those "
            "fallbacks."
        ),
    ]
    if sweeps:
        lines += [
            "",
            "dtype x expansion_search (the graph is built once per dtype; ef only matters when n < ef):",
            "",
            "| vectors | data | dtype | ef | build s | graph n=320 p50 ms | graph n=20 p50 ms | "
            "recall@20 (n=320) | recall@20 (n=20) | graph MB |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *[
                f"| {r['vectors']:,} | {r['label']} | {r['dtype']} | {r['ef']} | {r['build_s']:.1f} | "
                f"{r['graph'][0]:.2f} | {r['graph20'][0]:.2f} | {r['recall_wide']:.3f} | "  # type: ignore[index]
                f"{r['recall_narrow']:.3f} | {r['graph_mb']:.0f} |"
                for r in sweeps
            ],
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument(
        "--hnsw-sizes",
        default="10000,100000",
        help="comma-separated namespace sizes for the HNSW rows ('' skips them)",
    )
    parser.add_argument("--sweep", action="store_true", help="also the dtype x expansion_search table")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(x) for x in args.hnsw_sizes.split(",") if x.strip()]

    from threadpoolctl import threadpool_limits

    from memory_system.memory.retrieval.embeddings import to_blob
    from memory_system.memory.retrieval.vector_index import VectorIndex
    from memory_system.ops import schema
    from memory_system.store import embeddings as vec_store
    from memory_system.store.connection import Database
    from memory_system.store.scope import Filters, Visibility

    threadpool_limits(1, "blas")  # as ``serve`` runs (server/lifecycle.py)
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
                "INSERT INTO memories (id, namespace, agent_id, content, content_hash) "
                "VALUES (?, 'ns', ?, 'x', ?)",
                [(i + 1, "small" if i % small_agent_every == 0 else "big", str(i)) for i in range(args.n)],
            )
            vec_store.write_vectors(
                conn, [(i + 1, "ns", to_blob(v)) for i, v in enumerate(vectors)], "m", DIM
            )
        reader = db.reader()
        t0 = time.perf_counter()
        index = VectorIndex(
            DIM, lambda ns: vec_store.namespace_vectors(reader, ns, "m", DIM), hnsw_min_vectors=None
        )
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
        rows.append(
            (f"numpy matrix, whole namespace ({args.n:,})", timed(lambda q: index.search("ns", q, 50)))
        )
        vec_store.load_sqlite_vec(reader)
        big = Visibility(agent_id="big", namespace="ns", sharing_enabled=False)
        rows.append(
            (
                f"sqlite-vec vec_distance_cosine, whole namespace ({args.n:,})",
                timed(lambda q: vec_store.exact_search(reader, to_blob(q), "m", DIM, big, Filters(), 50)),
            )
        )
        small = Visibility(agent_id="small", namespace="ns", sharing_enabled=False)
        rows.append(
            (
                f"sqlite-vec, scope narrowed by SQL to one agent ({args.n // small_agent_every:,})",
                timed(lambda q: vec_store.exact_search(reader, to_blob(q), "m", DIM, small, Filters(), 50)),
            )
        )
        db.close()

    hnsw_lines = hnsw_section(sizes, args.queries * 2, args.sweep) if sizes else []
    command = " ".join(["python benchmarks/vector_search.py", *sys.argv[1:]])
    lines = [
        "## Vector search at 100k in one namespace (benchmarks/vector_search.py)",
        "",
        (
            f"`{command}` at {git_revision()}; {machine()}; "
            f"{args.queries} queries, k = 50, exact cosine, random unit vectors, one BLAS thread; "
            "measured while other work ran "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)."
        ),
        "",
        "| method | p50 ms | p95 ms |",
        "|---|---|---|",
        *[f"| {name} | {p50:.1f} | {p95:.1f} |" for name, (p50, p95) in rows],
        "",
        (
            f"Loading the namespace's {args.n:,} stored vectors into the matrix: {load_s:.2f} s "
            "(once per process, lazily, on the first search of that namespace). Choice: the matrix for "
            "whole-namespace search (the injection path), sqlite-vec when the caller's visible scope is a "
            "small part of a crowded namespace (SQL narrows first, then exact distance on the few rows)."
        ),
        *hnsw_lines,
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("vector-search", text)


if __name__ == "__main__":
    main()
