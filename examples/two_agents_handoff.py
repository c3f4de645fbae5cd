"""Two agents of one namespace: a planner shares a memory with a coder, works in a session, and
hands the session (its state and working memories) off to the coder, who carries on.

    MEMORY_URL=http://127.0.0.1:8080 PLANNER_TOKEN=mst_... CODER_TOKEN=mst_... \
        python examples/two_agents_handoff.py

The tokens come from `memory-system tokens create --agent planner --namespace P` (and coder).
"""

from __future__ import annotations

import argparse
import os

from memory_system.client import MemoryClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("MEMORY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--planner-token", default=os.environ.get("PLANNER_TOKEN"))
    parser.add_argument("--coder-token", default=os.environ.get("CODER_TOKEN"))
    parser.add_argument("--coder", default="coder", help="the coder's agent id")
    args = parser.parse_args()
    with (
        MemoryClient(args.url, token=args.planner_token) as planner,
        MemoryClient(args.url, token=args.coder_token) as coder,
    ):
        convention = planner.remember("Every public function gets a docstring.", kind="fact")
        planner.share(convention.id, [args.coder])
        print("coder reads the shared convention:", coder.get_memory(convention.id).content)

        session = planner.start_session()
        sid = session.session_id
        planner.remember("The bug is in the retry loop of the uploader.", session_id=sid, tier="working")
        state = planner.put_state(
            sid, {"plan": ["find the bug", "fix it"], "done": ["find the bug"]}, version=0
        )

        handoff = planner.handoff(sid, args.coder)
        print(f"handed off {handoff.memories_moved} working memory, state version {handoff.state_version}")
        new_sid = handoff.new_session_id
        received = coder.get_state(new_sid)
        print("coder picks up the plan:", received.state["plan"], "done:", received.state["done"])
        block = coder.inject("fix the uploader bug", session_id=new_sid).block
        print("coder's memory block:\n" + block)
        coder.put_state(new_sid, {**received.state, "done": state.state["plan"]}, version=received.version)
        coder.end_session(new_sid)


if __name__ == "__main__":
    main()
