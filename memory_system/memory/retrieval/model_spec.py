"""The embedding model's fixed facts, in a module of their own.

Both the sentence-transformers path (``embeddings.py``) and the onnxruntime path
(``onnx_runtime.py``) must agree on them; keeping them here lets each import them without
importing the other.
"""

from __future__ import annotations

__all__ = ["MAX_SEQ_LENGTH", "MODEL_DIM", "MODEL_NAME", "QUERY_PRECISIONS"]

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_DIM = 384
MAX_SEQ_LENGTH = 256
QUERY_PRECISIONS = ("fp32", "int8")  # what onnx_runtime.OnnxMiniLM can run
