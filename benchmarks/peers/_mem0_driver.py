"""Mem0's side of the LoCoMo comparison; run by the peer venv's python, never imported by ours.

Usage (mem0_locomo.py does this): ``<peer venv>/bin/python _mem0_driver.py IN.json OUT.json``.

IN holds the bundled MiniLM's directory, a work folder, ``k`` and the conversations (turns in
order, questions); OUT gets the turn ids Mem0 ranked for each question, each call's time and
the library's version. Mem0 runs the way its open-source library runs with no LLM: the
HuggingFace embedder on that directory, its default embedded local Qdrant (a folder, no
server), ``add(..., infer=False)`` once per turn (each call embeds the turn inline and writes
it, so a turn is searchable when the call returns) and ``search(query, top_k=k)`` scoped to the
conversation's ``user_id``. ``threshold=0`` so every question gets k results and recall at k
compares rankings, not Mem0's default 0.1 score cut-off (which can only lower its recall).

Imports nothing of memory-system and is typed with ``Any``: mem0 exists only in the peer venv,
so mypy (run in ours) cannot see its types.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# Set before mem0 is imported: it reads MEM0_TELEMETRY and MEM0_DIR at import time.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# mem0 builds an OpenAI client for its LLM even when infer=False never calls it; the client
# refuses to exist without a key. A dead loopback port makes any call that did happen fail here.
os.environ.setdefault("OPENAI_API_KEY", "unused-infer-is-false")
os.environ["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"


def build(model_dir: str, work: Path) -> Any:
    os.environ["MEM0_DIR"] = str(work / "mem0-home")
    mem0: Any = importlib.import_module("mem0")
    config = {
        "vector_store": {
            "provider": "qdrant",
            "config": {
                "collection_name": "locomo",
                "path": str(work / "qdrant"),
                "embedding_model_dims": 384,
            },
        },
        "embedder": {"provider": "huggingface", "config": {"model": model_dir, "embedding_dims": 384}},
        "llm": {"provider": "openai", "config": {"openai_base_url": "http://127.0.0.1:9/v1"}},
        "history_db_path": str(work / "history.db"),
    }
    return mem0.Memory.from_config(config)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(int(spec["threads"]))
    work = Path(spec["work"])
    started = time.perf_counter()
    memory = build(spec["model_dir"], work)
    init_s = time.perf_counter() - started
    k = int(spec["k"])

    turn_of: dict[str, str] = {}
    add_ms: list[float] = []
    ingest_started = time.perf_counter()
    for conv in spec["conversations"]:
        for turn in conv["turns"]:
            t0 = time.perf_counter()
            result = memory.add(
                [{"role": "user", "content": turn["text"], "name": turn["speaker"]}],
                user_id=conv["id"],
                metadata={"turn": turn["turn"]},
                infer=False,
            )
            add_ms.append((time.perf_counter() - t0) * 1000)
            for item in result["results"]:
                turn_of[str(item["id"])] = turn["turn"]
    ingest_s = time.perf_counter() - ingest_started

    first = spec["conversations"][0]
    memory.search(first["questions"][0], top_k=k, filters={"user_id": first["id"]}, threshold=0.0)  # warm-up
    answers: list[dict[str, Any]] = []
    for conv in spec["conversations"]:
        for question in conv["questions"]:
            t0 = time.perf_counter()
            found = memory.search(question, top_k=k, filters={"user_id": conv["id"]}, threshold=0.0)
            ms = (time.perf_counter() - t0) * 1000
            ranked = [turn_of.get(str(hit["id"]), "?") for hit in found["results"]]
            answers.append({"conversation": conv["id"], "ranked": ranked, "ms": ms})
    return {
        "mem0_version": importlib.import_module("mem0").__version__,
        "torch_threads": torch.get_num_threads(),
        "init_s": init_s,
        "memories": len(turn_of),
        "ingest_s": ingest_s,
        "add_ms": add_ms,
        "answers": answers,
    }


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit("usage: _mem0_driver.py IN.json OUT.json")
    spec = json.loads(Path(argv[1]).read_text())
    Path(argv[2]).write_text(json.dumps(run(spec)))


if __name__ == "__main__":
    main(sys.argv)
