"""Fixtures of the fault tests: the environment of a service that runs the real model."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def minilm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``serve_process`` env for the real MiniLM, with one ONNX cache for the whole session: the
    query model is exported and quantised on first use (~10 s here), once, not per service."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    return {"MEMORY_SYSTEM_EMBEDDER": "minilm", "MEMORY_SYSTEM_CACHE": str(cache)}
