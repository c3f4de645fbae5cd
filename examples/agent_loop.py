"""An agent loop that remembers what it learns and injects what it knows before each step.

    MEMORY_URL=http://127.0.0.1:8080 MEMORY_TOKEN=mst_... python examples/agent_loop.py

Each task is one turn: the memory block for the task goes into the prompt, the (here scripted)
model answers, and what the turn taught is stored for the next ones.
"""

from __future__ import annotations

import argparse
import os

from memory_system.client import MemoryClient

TURNS = [
    ("set up the project", "The project uses Python 3.11 and ruff for lint."),
    ("fix the failing test", "The flaky test waits on the database at port 5432."),
    ("which port does the flaky test use?", None),
]


def fake_model(prompt: str) -> str:
    return f"(answer written with {prompt.count('- ')} memories in view)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MEMORY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--token", default=os.environ.get("MEMORY_TOKEN"))
    args = parser.parse_args()
    with MemoryClient(args.url, token=args.token) as memory:
        session = memory.start_session()
        for task, learned in TURNS:
            block = memory.inject(task, session_id=session.session_id, token_budget=500).block
            print(f"task: {task}\n{block or '(nothing remembered yet)'}\n{fake_model(block + task)}\n")
            if learned:
                memory.remember(learned, kind="fact", tier="short_term", session_id=session.session_id)
        memory.end_session(session.session_id)


if __name__ == "__main__":
    main()
