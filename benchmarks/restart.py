"""Restart to full speed: how long a namespace takes to answer from its HNSW graph again.

Usage: python benchmarks/restart.py [--size 100000] [--dim 384]

Why it exists: before issue 14 a restart rebuilt every large namespace's graph (~70 s at 100k
memories on one thread) while the exact scan answered. Graphs are now saved in ``<db>.index/``
(memory/retrieval/index_files.py) and loaded when they agree with the database. This measures,
on one namespace of ``--size`` memories with random unit vectors (load and build cost do not
depend on content): the first start (vectors read from SQLite, graph built), the restart with
valid files (vectors read, graph loaded and reconciled), and a restart after the files were
removed (as the first start). Prints one JSON object; the lead copies the figures into
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from memory_system.core.settings import Settings
from memory_system.memory.retrieval import index_files
from memory_system.memory.retrieval.hybrid import Retrieval
from memory_system.memory.retrieval.vector_index import HNSW_MIN_VECTORS
from memory_system.ops import schema
from memory_system.runtime import Runtime
from memory_system.store import embeddings as vec_store
from memory_system.store.connection import Database

NAMESPACE = "bench"
MODEL = "bench-random"


class RandomEmbedder:
    """Random unit vectors of the stored model's name: queries only, nothing is embedded here."""

    name = MODEL

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._rng = np.random.default_rng(1)

    def encode(self, texts: list[str]) -> np.ndarray:
        v = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def fill(db_path: Path, size: int, dim: int) -> None:
    schema.migrate(db_path)
    runtime = Runtime(Settings(db_path=db_path, embedder="none", config_path=db_path.parent / "absent.json"))
    embedder = RandomEmbedder(dim)
    try:
        for start in range(0, size, 1000):
            items = [{"content": f"memory {i}"} for i in range(start, min(size, start + 1000))]
            written = runtime.memories.create_batch(namespace=NAMESPACE, agent_id="a", items=items)
            vectors = embedder.encode([""] * len(written))
            rows = [(w.memory.id, NAMESPACE, v.tobytes()) for w, v in zip(written, vectors, strict=True)]
            with runtime.db.write() as conn:
                vec_store.write_vectors(conn, rows, MODEL, dim)
    finally:
        runtime.close()


def start(db_path: Path, dim: int, graph_at: int) -> dict[str, object]:
    """One start: seconds to vectors loaded, and to the graph answering."""
    db = Database(db_path)
    retrieval = Retrieval(db, RandomEmbedder(dim), start_worker=False)
    index = retrieval.index
    assert index is not None and index.files is not None
    index.hnsw_min_vectors = graph_at
    began = time.perf_counter()
    index.ensure_loaded(NAMESPACE)
    loaded = time.perf_counter() - began
    index.wait_graphs(3600)
    ready = time.perf_counter() - began
    files = index.files
    figures = {
        "vectors_loaded_s": round(loaded, 3),
        "graph_ready_s": round(ready, 3),
        "graph_from_file": files.loads == 1,
        "files_rejected": files.rejected,
    }
    retrieval.close()
    db.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    graph_at = min(HNSW_MIN_VECTORS, max(1, args.size // 2))
    workdir = Path(tempfile.mkdtemp(prefix="memory-system-restart-"))
    try:
        db_path = workdir / "memory.db"
        began = time.perf_counter()
        fill(db_path, args.size, args.dim)
        result: dict[str, object] = {
            "size": args.size,
            "dim": args.dim,
            "fill_s": round(time.perf_counter() - began, 1),
        }
        result["first_start"] = start(db_path, args.dim, graph_at)
        result["restart_with_files"] = start(db_path, args.dim, graph_at)
        shutil.rmtree(index_files.index_dir(db_path))
        result["restart_files_removed"] = start(db_path, args.dim, graph_at)
        json.dump(result, sys.stdout, indent=2)
        print()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
