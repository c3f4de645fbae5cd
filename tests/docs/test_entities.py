"""docs/entities.md: the HTTP examples run as written against a live service, in order."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

DOC = (Path(__file__).resolve().parents[2] / "docs" / "entities.md").read_text()


def _http_block() -> str:
    section = DOC.split("## Over HTTP", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.+?)\n```", section, re.DOTALL)
    assert block is not None, "no bash block in the Over HTTP section"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_http_examples_run_as_written(live_server: Callable[..., str]) -> None:
    url = live_server(embedder="none")
    block = _http_block()
    assert block.count("curl -s ") >= 12
    # -f: an answer of 4xx or 5xx fails the line, and bash -e the script.
    script = block.replace("U=http://127.0.0.1:8080", f"U={url}").replace("curl -s ", "curl -sf ")
    proc = subprocess.run(
        ["bash", "-e", "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert proc.returncode == 0, f"{script}\n{proc.stdout}\n{proc.stderr}"
    answers, at, decoder = [], 0, json.JSONDecoder()
    while at < len(proc.stdout.rstrip()):  # curl prints the bodies back to back
        answer, at = decoder.raw_decode(proc.stdout, at)
        answers.append(answer)
    assert len(answers) == block.count("curl -s ")
    search = answers[3]  # graph/search "engine": the Analytical Engine's entity
    assert [e["name"] for e in search["entities"]] == ["Babbage"]
    graph = httpx.get(url + "/v1/graph", headers={"X-Namespace": "myproject"}, timeout=10).json()
    assert graph == {"entities": [], "relations": []}  # the last lines delete what the first made
