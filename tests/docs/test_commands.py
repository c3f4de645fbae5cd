"""Every `memory-system ...` line in the README's and the docs' shell blocks names a real
command and only options that command has: a renamed option fails here, not in an outage."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer

from memory_system.cli import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _invocations(text: str) -> list[str]:
    found = []
    for block in re.findall(r"```bash\n(.+?)\n\s*```", text, re.DOTALL):
        for line in block.splitlines():
            line = re.sub(r"systemctl +\S+ +memory-system", "systemctl", line)  # the unit, not the command
            line = re.sub(
                r"^claude mcp add (?:--\S+ \S+ )*memory-system ", "claude mcp add ", line
            )  # its name
            for match in re.finditer(r"(?:^|[\s/(])memory-system (.+)", line):
                found.append(re.split(r"\s#|\)|\||;|&&", match.group(1))[0].strip())
    return found


def problems(invocation: str, root: Any) -> list[str]:
    """What is wrong with one invocation (typer vendors click, so groups are told by their commands)."""
    command, words = root, [w.strip("[]") for w in shlex.split(invocation)]
    while hasattr(command, "commands") and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    if hasattr(command, "commands"):
        return [f"memory-system {invocation}: no such command"]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
    return [
        f"memory-system {invocation}: no option {w}"
        for w in words
        if w.startswith("-") and w.split("=", 1)[0] not in options
    ]


def test_the_scan_finds_the_lines_we_know_exist() -> None:
    lines = [i for p in PAGES for i in _invocations(p.read_text())]
    assert "flags rollback --actor alice" in lines and "serve --dev" in lines
    assert len(lines) > 30


def test_every_command_line_is_a_real_command() -> None:
    root = typer.main.get_command(app)
    found = [bad for page in PAGES for line in _invocations(page.read_text()) for bad in problems(line, root)]
    assert found == []


def test_the_check_catches_a_wrong_command_and_option() -> None:
    root = typer.main.get_command(app)
    assert problems("db rollback --migration 004 --yes", root) == []
    assert problems("db rollbak --migration 004", root) == [
        "memory-system db rollbak --migration 004: no such command"
    ]
    assert problems("flags set X false --actr alice", root) == [
        "memory-system flags set X false --actr alice: no option --actr"
    ]
