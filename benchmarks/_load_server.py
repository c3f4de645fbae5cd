"""The database and the live service the load and soak benchmarks run against.

- ``seed``: N memories across the agents and namespaces, each stored with the model's vector of
  its text, written through the service layer (``MemoryService.create_batch``, the batch
  ingest path without HTTP) for speed, plus one agent token each from
  ``memory-system tokens create``. The result is kept in the work directory and reused; every
  run starts from a fresh copy of it, because a run's writes change the database.
- ``start_server``: ``memory-system serve`` (tokens, not ``--dev``) as its own process, with
  the background embedder chosen by ``--embedder`` and tier maintenance on a short interval
  so that both run during the measurement, as in production.
- ``rss_bytes``: the server process's resident memory, read from ``/proc``.
- ``second_worker_refusal``: what a second service process on the same database answers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _load_schedule import AgentSpec, agent_specs
from _report import free_port

ROOT = Path(__file__).resolve().parents[1]
SEED_FORMAT = 1

__all__ = [
    "Seed",
    "Server",
    "count_memories",
    "fresh_copy",
    "open_sessions",
    "rss_bytes",
    "second_worker_refusal",
    "seed",
    "start_server",
    "stop_server",
]


@dataclass(frozen=True)
class Seed:
    path: Path
    agents: list[AgentSpec]
    info: dict[str, Any]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    db: Path
    config: Path
    index_load_s: float = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid


def _sqlite() -> Any:
    from memory_system.store._sqlite import sqlite3

    return sqlite3


def count_memories(db: Path) -> tuple[int, int]:
    """(memories, memories still without a vector): the second is the embedder's backlog."""
    conn = _sqlite().connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        total = conn.execute("SELECT count(*) FROM memories").fetchone()[0]
        missing = conn.execute(
            "SELECT count(*) FROM memories m WHERE NOT EXISTS"
            " (SELECT 1 FROM memory_embeddings e WHERE e.memory_id = m.id)"
        ).fetchone()[0]
    finally:
        conn.close()
    return int(total), int(missing)


def _create_tokens(db: Path, agents: list[AgentSpec], parallel: int = 4) -> list[AgentSpec]:
    """One token per agent, each from ``memory-system tokens create --json`` as an operator
    would issue it (a few in parallel: each command is a ~0.3 s Python start)."""
    out: list[AgentSpec] = []
    pending = list(agents)
    while pending:
        batch, pending = pending[:parallel], pending[parallel:]
        procs = [
            (
                a,
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "memory_system",
                        "tokens",
                        "create",
                        "--agent",
                        a.agent_id,
                        "--namespace",
                        a.namespace,
                        "--label",
                        "load benchmark",
                        "--db",
                        str(db),
                        "--json",
                    ],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                ),
            )
            for a in batch
        ]
        for agent, proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            if proc.returncode != 0:
                raise SystemExit(
                    f"memory-system tokens create failed for {agent.agent_id}: {stderr.decode()}"
                )
            out.append(AgentSpec(agent.agent_id, agent.namespace, json.loads(stdout)["token"]))
    return out


def seed(workdir: Path, memories: int, agents: int, namespaces: int, progress: bool = True) -> Seed:
    """The seeded database for these sizes, built once and reused (``seed-*.json`` marks it done)."""
    from injection import base_vectors, corpus

    if memories < agents:
        raise SystemExit(f"--memories ({memories}) must be at least --agents ({agents})")
    specs = agent_specs(agents, namespaces)
    name = f"seed-{memories}-{agents}x{namespaces}"
    db, sidecar = workdir / f"{name}.db", workdir / f"{name}.json"
    if sidecar.exists() and db.exists():
        saved = json.loads(sidecar.read_text())
        if saved.get("format") == SEED_FORMAT:
            return Seed(db, [AgentSpec(*a) for a in saved["agents"]], {**saved["info"], "reused": True})
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), sidecar):
        path.unlink(missing_ok=True)

    from memory_system.core.settings import Settings
    from memory_system.memory.retrieval.embeddings import to_blob
    from memory_system.memory.retrieval.model_spec import MODEL_DIM, MODEL_NAME
    from memory_system.ops import schema
    from memory_system.runtime import Runtime
    from memory_system.store import embeddings as vec_store

    corpus_name, bases, _ = corpus()
    started = time.perf_counter()
    vectors = base_vectors(workdir, bases)
    info: dict[str, Any] = {"corpus": corpus_name, "embed_s": round(time.perf_counter() - started, 1)}
    schema.migrate(db)
    runtime = Runtime(Settings(db_path=db, embedder="none", config_path=workdir / "absent.json"))
    rng = random.Random(memories)
    started = time.perf_counter()
    try:
        for index, agent in enumerate(specs):
            own = memories // agents + (1 if index < memories % agents else 0)
            for first in range(0, own, 1000):
                picks = [rng.randrange(len(bases)) for _ in range(min(1000, own - first))]
                items = [
                    {
                        "content": f"{bases[b]} (ref {agent.agent_id}-{first + i})",
                        "kind": rng.choice(["fact", "decision", "note"]),
                        "tier": rng.choice(["long_term", "short_term"]),
                        "importance": round(rng.random(), 2),
                    }
                    for i, b in enumerate(picks)
                ]
                written = runtime.memories.create_batch(
                    namespace=agent.namespace, agent_id=agent.agent_id, items=items
                )
                with runtime.db.write() as conn:
                    vec_store.write_vectors(
                        conn,
                        [
                            (w.memory.id, agent.namespace, to_blob(vectors[b]))
                            for w, b in zip(written, picks, strict=True)
                        ],
                        MODEL_NAME,
                        MODEL_DIM,
                    )
                    if vec_store.get_meta(conn, vec_store.MODEL_KEY) is None:
                        vec_store.record_model(conn, MODEL_NAME, MODEL_DIM)
            if progress and (index + 1) % 20 == 0:
                print(f"  seeded {index + 1}/{agents} agents", flush=True)
    finally:
        runtime.close()
    info["ingest_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    specs = _create_tokens(db, specs)
    info["tokens_s"] = round(time.perf_counter() - started, 1)
    total, missing = count_memories(db)
    if total != memories or missing:
        raise SystemExit(f"{db}: {total} memories, {missing} without vectors; expected {memories}, 0")
    conn = _sqlite().connect(str(db))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    sidecar.write_text(
        json.dumps(
            {
                "format": SEED_FORMAT,
                "agents": [[a.agent_id, a.namespace, a.token] for a in specs],
                "info": info,
            }
        )
    )
    return Seed(db, specs, {**info, "reused": False})


def fresh_copy(seeded: Seed, dest: Path) -> Path:
    """A copy of the seeded database for one run (the seed itself is never served)."""
    for path in (dest, Path(f"{dest}-wal"), Path(f"{dest}-shm"), Path(f"{dest}.lock")):
        path.unlink(missing_ok=True)
    shutil.copyfile(seeded.path, dest)
    return dest


def _write_config(workdir: Path, tier_interval_s: float) -> Path:
    config = workdir / "load-config.json"
    config.write_text(
        json.dumps(
            {
                "featureFlags": {
                    "USE_HIERARCHICAL_TIERS": True,
                    "USE_CROSS_AGENT_SHARING": True,
                    "USE_ENHANCED_INJECTION": True,
                },
                "tiers": {"intervalSeconds": tier_interval_s},
            }
        )
    )
    return config


def _serve_command(db: Path, port: int, config: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "memory_system",
        "serve",
        "--db",
        str(db),
        "--port",
        str(port),
        "--config",
        str(config),
    ]


def _env(embedder: str) -> dict[str, str]:
    return {
        **os.environ,
        "MEMORY_SYSTEM_EMBEDDER": embedder,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def start_server(db: Path, workdir: Path, embedder: str, tier_interval_s: float) -> Server:
    """``memory-system serve`` on a free loopback port, returned once its indexes have loaded."""
    import httpx
    from injection import wait_for_indexes

    config = _write_config(workdir, tier_interval_s)
    port = free_port()
    log = open(workdir / "server.log", "ab")  # the child keeps its own copy of the descriptor
    proc = subprocess.Popen(
        _serve_command(db, port, config), cwd=ROOT, env=_env(embedder), stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    server = Server(proc, f"http://127.0.0.1:{port}", db, config)
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}; see {workdir / 'server.log'}")
        try:
            if httpx.get(server.url + "/health/live", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise SystemExit("the server did not answer /health/live within 180 s")
        time.sleep(0.2)
    server.index_load_s = round(wait_for_indexes(server.url), 1)
    return server


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise SystemExit(f"/proc/{pid}/status has no VmRSS line: is the server still running?")


def open_sessions(url: str, agents: list[AgentSpec]) -> dict[int, str]:
    """One open session per agent before the load starts (not measured)."""
    import httpx

    sessions: dict[int, str] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for index, agent in enumerate(agents):
            response = client.post("/v1/sessions", headers={"Authorization": f"Bearer {agent.token}"})
            if response.status_code != 201:
                raise SystemExit(
                    f"opening a session for {agent.agent_id}: {response.status_code} {response.text}"
                )
            sessions[index] = response.json()["session_id"]
    return sessions


def second_worker_refusal(server: Server, workdir: Path, embedder: str) -> str:
    """Start a second ``memory-system serve`` on the live server's database and return the one
    line it exits with: the design allows one service process per database."""
    try:
        proc = subprocess.run(
            _serve_command(server.db, free_port(), server.config),
            cwd=ROOT,
            env=_env(embedder),
            capture_output=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return "a second `memory-system serve` on the same database kept running for 120 s (stopped)"
    if proc.returncode == 0:
        return "a second `memory-system serve` on the same database exited 0 (unexpected; see its output)"
    lines = [ln for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return f"exit {proc.returncode}: {lines[-1] if lines else '(no output)'}"
