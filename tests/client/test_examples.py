"""The examples under examples/ run as written against a live service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.client.conftest import Service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(script: str, env: dict[str, str]) -> str:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_agent_loop_injects_what_it_remembered(service: Service) -> None:
    out = _run("agent_loop.py", {"MEMORY_URL": service.url, "MEMORY_TOKEN": service.planner})
    first, _, last = out.partition("task: which port")
    assert "(nothing remembered yet)" in first
    assert "port 5432" in last


def test_two_agents_share_and_hand_off_a_session(service: Service) -> None:
    env = {"MEMORY_URL": service.url, "PLANNER_TOKEN": service.planner, "CODER_TOKEN": service.coder}
    out = _run("two_agents_handoff.py", env)
    assert "coder reads the shared convention: Every public function gets a docstring." in out
    assert "handed off 1 working memory, state version 1" in out
    assert "coder picks up the plan: ['find the bug', 'fix it'] done: ['find the bug']" in out
    assert "retry loop of the uploader" in out.split("coder's memory block:", 1)[1]
