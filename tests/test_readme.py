"""The README's two commands are the contract with a newcomer and with CI."""

from __future__ import annotations

import re
from pathlib import Path

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
