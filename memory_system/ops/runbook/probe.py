"""The checklist's sample session test: one agent's round trip, in a namespace of its own.

The probe acts as an agent in ``PROBE_NAMESPACE`` (nobody else's memories are visible to it,
and nothing it writes is visible to anybody else): it opens a session, writes a memory,
finds it by search, injects, deletes it, ends the session, and checks that the namespace
holds nothing afterwards. In legacy mode (Phase 2-4 tables rolled back) only
Phase 1 answers, so the probe writes, reads and deletes one entity instead.

Who the probe is: with the database at hand a short-lived agent token is minted for the
probe namespace and revoked afterwards (``ProbeToken``); in ``--dev`` mode the
``X-Agent-Id`` / ``X-Namespace`` headers say it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from memory_system.auth.agent_tokens import TokenService
from memory_system.client import (
    MemoryClient,
    MemoryConnectionError,
    MemoryServiceError,
    MemoryTimeout,
    RetryPolicy,
)
from memory_system.store.connection import Database

PROBE_NAMESPACE = "memory-system.verify-probe"
PROBE_AGENT = "verify-probe"


@dataclass
class ProbeOutcome:
    ok: bool
    detail: str
    steps: list[str] = field(default_factory=list)


@contextmanager
def probe_token(db_path: Path | None) -> Iterator[str | None]:
    """A token for the probe namespace, revoked on the way out; None without a database."""
    if db_path is None or not db_path.exists():
        yield None
        return
    database = Database(db_path)
    try:
        tokens = TokenService(database)
        if not tokens.ready():
            yield None
            return
        issued = tokens.create(PROBE_AGENT, PROBE_NAMESPACE, label="verify probe (revoked after use)")
        try:
            yield issued.token
        finally:
            tokens.revoke(issued.record.token_id)
    finally:
        database.close()


def probe_client(url: str, token: str | None, *, session_id: str | None = None) -> MemoryClient:
    dev = token is None  # --dev mode: the headers name the caller
    return MemoryClient(
        url,
        token=token,
        agent_id=PROBE_AGENT if dev else None,
        namespace=PROBE_NAMESPACE if dev else None,
        session_id=session_id,
        timeout_s=10.0,
        retry=RetryPolicy(attempts=1),
    )


def run_probe(url: str, token: str | None, *, legacy: bool) -> ProbeOutcome:
    return _entity_probe(url, token) if legacy else _session_probe(url, token)


def _session_probe(url: str, token: str | None) -> ProbeOutcome:
    marker = f"verify probe {uuid.uuid4().hex}"
    done: list[str] = []
    session_id: str | None = None
    with probe_client(url, token) as agent:
        try:
            session_id = agent.start_session().session_id
            done.append("session opened")
            with probe_client(url, token, session_id=session_id) as inside:
                written = inside.remember(marker, session_id=session_id)
                done.append(f"memory {written.id} written")
                hits = inside.search(marker, k=5, session_id=session_id).hits
                found = any(h.memory.id == written.id for h in hits)
                done.append(f"search found it: {found}")
                injection = inside.inject(marker, session_id=session_id)
                done.append(f"inject mode {injection.mode}, {injection.tokens} tokens")
                inside.delete_memory(written.id)
                done.append("memory deleted")
            agent.end_session(session_id)
            session_id = None
            done.append("session ended")
            # Only what this probe wrote counts: a release may keep other rows of the namespace
            # (an earlier probe's, a session summary) that are not this run's to clean up.
            left = [
                m
                for m in agent.list_memories(limit=100).memories
                if m.id == written.id or marker in m.content
            ]
            ended = True
        except MemoryServiceError as error:
            return ProbeOutcome(False, f"{_steps(done)}; then HTTP {error.status} {error.code}", done)
        finally:
            if session_id is not None:  # a failure on the way: never leave the session open
                _quietly(lambda: agent.end_session(session_id or ""))
    left_behind = f"{len(left)} memories left in {PROBE_NAMESPACE}"
    ok = found and ended and not left
    return ProbeOutcome(ok, f"{_steps(done)}; {left_behind}", done)


def _entity_probe(url: str, token: str | None) -> ProbeOutcome:
    name = f"verify-probe-{uuid.uuid4().hex}"
    done: list[str] = []
    with probe_client(url, token) as agent:
        try:
            agent.create_entities(
                [{"name": name, "entityType": "probe", "observations": ["written by verify"]}]
            )
            done.append("entity written")
            read = agent.get_entity(name)
            done.append(f"read back with {len(read.entity.observations)} observation(s)")
            agent.delete_entities([name])
            done.append("entity deleted")
        except MemoryServiceError as error:
            _quietly(lambda: agent.delete_entities([name]))
            return ProbeOutcome(
                False,
                f"legacy mode, Phase 1 only: {_steps(done)}; then HTTP {error.status} {error.code}",
                done,
            )
        try:
            agent.get_entity(name)
            gone = False
        except MemoryServiceError as error:
            gone = error.status == 404
    left = "nothing left behind" if gone else f"entity {name} still there"
    return ProbeOutcome(gone, f"legacy mode, Phase 1 only: {_steps(done)}; {left}", done)


def _steps(done: list[str]) -> str:
    return ", ".join(done) if done else "nothing done"


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except (MemoryServiceError, MemoryConnectionError, MemoryTimeout):  # already reported above
        pass
