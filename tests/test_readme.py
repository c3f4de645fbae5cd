"""The README's two commands are the contract with a newcomer and with CI; its quickstart is
their first five minutes, so it runs as written."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The two commands", 1)[1]
    return re.findall(r"```bash\n(.+?)\n```", section)[:2]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    run_command, test_command = _readme_commands()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command.strip() in ci_lines
    assert "pytest" in test_command and "serve" in run_command


def test_the_run_command_installs_the_semantic_extra_by_default() -> None:
    run_command, _ = _readme_commands()
    assert "semantic" in run_command


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_quickstart_gives_the_block_it_shows(live_server: Callable[..., str]) -> None:
    section = (ROOT / "README.md").read_text().split("## Quickstart", 1)[1]  # its block holds "## " lines
    script, shown = re.findall(r"```(?:bash)?\n(.+?)\n```", section, re.DOTALL)[:2]
    url = live_server(embedder="none")
    proc = subprocess.run(
        ["bash", "-e", "-c", script.replace("localhost:8080", url.removeprefix("http://"))],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    answers, at, decoder = [], 0, json.JSONDecoder()
    while at < len(proc.stdout.rstrip()):  # curl prints the three bodies back to back
        answer, at = decoder.raw_decode(proc.stdout, at)
        answers.append(answer)
    injected = answers[-1]
    assert injected["mode"] == "enhanced" and injected["cache"] == "miss"

    def undated(block: str) -> str:
        return re.sub(r"\[\d{4}-\d{2}-\d{2}\]", "[date]", block.strip())

    assert undated(injected["block"]) == undated(shown)
