"""The real all-MiniLM-L6-v2 (offline): meaning ranks above wording, vectors sqlite-vec can read."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from memory_system.memory.retrieval.embeddings import (
    MODEL_DIM,
    FailingEmbedder,
    SlowEmbedder,
    from_blob,
    make_embedder,
    to_blob,
)
from memory_system.store._sqlite import sqlite3
from memory_system.store.embeddings import load_sqlite_vec


def test_semantic_neighbours_rank_above_unrelated_text(minilm: Any) -> None:
    query = "how do we ship the service to production?"
    docs = [
        "Bananas are a good source of potassium.",
        "Deployments go out through the CI pipeline to the Kubernetes cluster every Tuesday.",
        "My grandmother knits scarves in winter.",
        "The quarterly budget review is on Friday.",
    ]
    q = minilm.encode([query])[0]
    vectors = minilm.encode(docs)
    scores = vectors @ q
    assert int(np.argmax(scores)) == 1
    assert scores[1] > scores[0] + 0.2 and scores[1] > scores[2] + 0.2


def test_vectors_are_unit_float32_and_one_text_matches_a_batch(minilm: Any) -> None:
    texts = ["Alice prefers tabs over spaces.", "We moved billing to PostgreSQL in March."]
    batch = minilm.encode(texts)
    assert batch.dtype == np.float32 and batch.shape == (2, MODEL_DIM)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    single = minilm.encode(texts[:1])
    assert single.shape == (1, MODEL_DIM)
    assert float(single[0] @ batch[0]) == pytest.approx(1.0, abs=1e-5)
    assert minilm.encode([]).shape == (0, MODEL_DIM)


def test_stored_blob_is_what_sqlite_vec_reads(minilm: Any) -> None:
    a, b = minilm.encode(["a cup of green tea", "a mug of black coffee"])
    assert np.array_equal(from_blob(to_blob(a), MODEL_DIM), a)
    with pytest.raises(ValueError, match="384"):
        from_blob(to_blob(a[:10]), MODEL_DIM)
    conn = sqlite3.connect(":memory:")
    if not load_sqlite_vec(conn):
        pytest.skip("this SQLite cannot load extensions")
    distance = conn.execute("SELECT vec_distance_cosine(?, ?)", (to_blob(a), to_blob(b))).fetchone()[0]
    assert distance == pytest.approx(1.0 - float(a @ b), abs=1e-5)


def test_test_embedders_behave_for_real(minilm: Any) -> None:
    assert make_embedder("none") is None
    with pytest.raises(RuntimeError, match="fail"):
        FailingEmbedder().encode(["anything"])
    assert isinstance(make_embedder("failing"), FailingEmbedder)
    slow = make_embedder("slow:5")
    assert isinstance(slow, SlowEmbedder) and slow.inner is minilm and slow.name == minilm.name
    assert np.allclose(slow.encode(["tea"]), minilm.encode(["tea"]), atol=1e-6)
    assert make_embedder("minilm") is minilm


@pytest.mark.parametrize("spec", ["slow:abc", "gpt-9"])
def test_unknown_embedder_is_refused_with_what_to_use(spec: str) -> None:
    with pytest.raises(ValueError, match="slow:<ms>|minilm"):
        make_embedder(spec)
