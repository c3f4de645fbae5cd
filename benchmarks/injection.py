"""Injection latency over real HTTP: POST /v1/inject against 10,000 and 100,000 memories.

Usage: python benchmarks/injection.py [--sizes 10000 100000] [--requests 400] [--workdir DIR]

For each size: a database with that many memories in one namespace, filled through the
service layer (``MemoryService.create_batch``, 1,000 per call) for speed of setup, every
memory stored with its vector before measuring starts. Each memory is one of 2,000 generated
sentences plus its own ``(ref n)`` tag; its vector is the model's vector of that sentence
(embedding 2,000 sentences instead of 100,000 texts keeps the setup to minutes on two cores;
search cost does not depend on the vectors' values). The filled database is kept in
``--workdir`` and reused by later runs. Then
``memory-system serve --dev`` runs as its own process on 127.0.0.1 and this script sends
requests on an open-loop schedule (each request leaves at its planned time whether or not
earlier ones have answered, so a slow server cannot slow the load down and hide its queue;
latency is measured from the planned send time):

- cache miss: every query distinct, 20 requests/s;
- cache hit: a few queries asked once first, then repeated, 20 requests/s;
- the highest rate with p95 < 100 ms (the runbook's baseline), stepping the rate up, for
  misses and for hits.

Client and server share the machine's cores, so the client's own cost is in the numbers.
Writes the "injection" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import free_port, git_revision, machine, write_section

NAMESPACE = "bench"
AGENT = "bench-agent"
ROOT = Path(__file__).resolve().parents[1]

TEAMS = [
    "platform",
    "payments",
    "search",
    "mobile",
    "data",
    "infra",
    "growth",
    "security",
    "billing",
    "support",
]
SERVICES = [
    "checkout",
    "gateway",
    "indexer",
    "scheduler",
    "auth",
    "notifier",
    "ledger",
    "exporter",
    "crawler",
    "reporter",
    "router",
    "cache",
    "uploader",
    "resolver",
    "tracker",
    "planner",
]
TECH = [
    "postgres",
    "sqlite",
    "redis",
    "kafka",
    "grpc",
    "graphql",
    "rust",
    "go",
    "python",
    "typescript",
    "kubernetes",
    "terraform",
    "nginx",
    "envoy",
    "celery",
    "airflow",
    "react",
    "django",
    "fastapi",
    "spark",
]
REASONS = [
    "latency spikes under load",
    "a memory leak in production",
    "the on-call burden",
    "licensing costs",
    "flaky integration tests",
    "slow cold starts",
    "a security audit finding",
    "customer complaints",
    "missing observability",
    "data loss during failover",
    "the quarterly cost review",
    "timeouts at peak",
]
PEOPLE = ["Alice", "Bob", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hana", "Ivan", "Jun", "Kofi", "Lena"]
TEMPLATES = [
    "Decision: the {team} team moved {service} from {a} to {b} because of {reason}.",
    "{person} prefers {a} over {b} for the {service} service and reviews changes on {day}.",
    "Incident {n}: {service} failed after a {a} upgrade; root cause was {reason}; fixed by pinning {b}.",
    "The {team} roadmap puts the {service} rewrite in {a} ahead of the {b} migration.",
    "{person} asked to keep {service} deploys behind a feature flag until {reason} is resolved.",
    "Convention: {service} handlers in {a} log one JSON line per request; {b} clients retry twice.",
    "Meeting note: {person} and the {team} team agreed that {service} owns the {b} schema.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
QUESTION = [
    "why did we move {service} to {b}",
    "what does {person} prefer for {service}",
    "how was the {service} incident with {a} fixed",
    "who owns the {b} schema for {service}",
    "what is the plan for the {service} rewrite",
    "how should {service} handlers log in {a}",
    "what did the {team} team decide about {service} and {reason}",
]


def slots(rng: random.Random) -> dict[str, Any]:
    a, b = rng.sample(TECH, 2)
    return {
        "team": rng.choice(TEAMS),
        "service": rng.choice(SERVICES),
        "a": a,
        "b": b,
        "reason": rng.choice(REASONS),
        "person": rng.choice(PEOPLE),
        "day": rng.choice(DAYS),
    }


def memory_text(rng: random.Random, n: int) -> str:
    return rng.choice(TEMPLATES).format(n=n, **slots(rng)) + f" (ref {n})"


def distinct_queries(rng: random.Random, count: int) -> list[str]:
    seen: dict[str, None] = {}
    while len(seen) < count:
        q = rng.choice(QUESTION).format(**slots(rng))
        if q in seen:
            q = f"{q} in sprint {rng.randint(1, 10_000)}"
        seen[q] = None
    return list(seen)


# --- setup ------------------------------------------------------------------------------


def counts(db: Path) -> tuple[int, int]:
    from memory_system.store._sqlite import sqlite3

    conn = sqlite3.connect(str(db))
    try:
        memories = conn.execute("SELECT count(*) FROM memories WHERE namespace = ?", (NAMESPACE,)).fetchone()[
            0
        ]
        vectors = conn.execute(
            "SELECT count(*) FROM memory_embeddings e JOIN memories m ON m.id = e.memory_id"
            " WHERE m.namespace = ?",
            (NAMESPACE,),
        ).fetchone()[0]
    finally:
        conn.close()
    return int(memories), int(vectors)


BASES = 2000  # generated sentences when LoCoMo is absent
LOCOMO = ROOT.parent / "shared" / "data" / "locomo" / "locomo_dev.json"


def corpus() -> tuple[str, list[str], list[str]]:
    """(name, base texts, questions): LoCoMo's dialogue turns and questions when the data is
    there (real vocabulary, so full-text matches are as selective as real memories'), else
    sentences generated from templates."""
    if LOCOMO.exists():
        data = json.loads(LOCOMO.read_text())
        turns: dict[str, None] = {}
        questions: dict[str, None] = {}
        for sample in data:
            conv = sample["conversation"]
            for key, value in conv.items():
                if key.startswith("session_") and isinstance(value, list):
                    for turn in value:
                        turns[turn["text"]] = (
                            None  # the statement; a speaker prefix would match half of all queries
                        )
            for qa in sample["qa"]:
                questions[qa["question"]] = None
        return "LoCoMo dev dialogue turns", list(turns), list(questions)
    rng = random.Random(42)
    seen: dict[str, None] = {}
    while len(seen) < BASES:
        seen[rng.choice(TEMPLATES).format(n=rng.randint(100, 999), **slots(rng))] = None
    return "generated sentences", list(seen), distinct_queries(random.Random(7), 1000)


def base_vectors(workdir: Path, bases: list[str]) -> np.ndarray:
    """The model's vectors of the base sentences, computed once and kept in ``workdir``."""
    import hashlib

    from memory_system.memory.retrieval.embeddings import make_embedder

    digest = hashlib.sha256("\n".join(bases).encode()).hexdigest()[:12]
    path = workdir / f"bases-{digest}.npy"
    if path.exists():
        return np.load(path)
    embedder = make_embedder("minilm")
    if embedder is None:
        raise SystemExit("the semantic extra is needed to fill the benchmark database")
    parts = []
    for i in range(0, len(bases), 64):
        parts.append(embedder.encode(bases[i : i + 64]))
        if i % 640 == 0:
            print(f"  embedded {i + 64}/{len(bases)} base sentences", flush=True)
    vectors = np.vstack(parts).astype(np.float32)
    np.save(path, vectors)
    return vectors


def fill(db: Path, size: int) -> dict[str, Any]:
    """``size`` memories through the service layer, each stored with its vector."""
    from memory_system.core.settings import Settings
    from memory_system.memory.retrieval.embeddings import MODEL_DIM, MODEL_NAME, to_blob
    from memory_system.ops import schema
    from memory_system.runtime import Runtime
    from memory_system.store import embeddings as vec_store

    info: dict[str, Any] = {"reused": False}
    if db.exists():
        have, vectors = counts(db)
        if have == size and vectors == size:
            info["reused"] = True
            return info
        db.unlink()
        for suffix in ("-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    _, bases, _ = corpus()
    start = time.perf_counter()
    vectors = base_vectors(db.parent, bases)
    info["embed_s"] = round(time.perf_counter() - start, 1)
    schema.migrate(db)
    runtime = Runtime(Settings(db_path=db, embedder="none", config_path=db.parent / "absent.json"))
    rng = random.Random(size)
    start = time.perf_counter()
    try:
        n = 0
        while n < size:
            picks = [rng.randrange(len(bases)) for _ in range(min(1000, size - n))]
            batch = [
                {
                    "content": f"{bases[b]} (ref {n + i})",
                    "kind": rng.choice(["fact", "decision", "note"]),
                    "tier": rng.choice(["long_term", "short_term"]),
                    "importance": round(rng.random(), 2),
                }
                for i, b in enumerate(picks)
            ]
            written = runtime.memories.create_batch(namespace=NAMESPACE, agent_id=AGENT, items=batch)
            with runtime.db.write() as conn:
                vec_store.write_vectors(
                    conn,
                    [
                        (w.memory.id, NAMESPACE, to_blob(vectors[b]))
                        for w, b in zip(written, picks, strict=False)
                    ],
                    MODEL_NAME,
                    MODEL_DIM,
                )
                if vec_store.get_meta(conn, vec_store.MODEL_KEY) is None:
                    vec_store.record_model(conn, MODEL_NAME, MODEL_DIM)
            n += len(batch)
    finally:
        runtime.close()
    info["ingest_s"] = round(time.perf_counter() - start, 1)
    have, stored = counts(db)
    if have != size or stored != size:
        raise SystemExit(f"{db}: {have} memories, {stored} vectors; expected {size} of each")
    return info


def contention_probe() -> float:
    """p50 ms of a fixed numpy job (100k x 384 matrix @ vector + top-20): ~3.6 ms on the 2-core
    Xeon these numbers were taken on, when quiet; a larger figure says how busy the cores were."""
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((100_000, 384), dtype=np.float32)
    query = rng.standard_normal(384, dtype=np.float32)
    times = []
    for _ in range(25):
        start = time.perf_counter()
        scores = matrix @ query
        np.argpartition(-scores, 20)[:20]
        times.append((time.perf_counter() - start) * 1000)
    return round(float(np.percentile(times, 50)), 1)


# --- the server -------------------------------------------------------------------------


def start_server(
    db: Path, workdir: Path, extra_config: dict[str, Any] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = workdir / "config.json"
    config.write_text(
        json.dumps(
            {
                "featureFlags": {"USE_ENHANCED_INJECTION": True, "USE_HIERARCHICAL_TIERS": True},
                **(extra_config or {}),
            }
        )
    )
    env = {**os.environ, "MEMORY_SYSTEM_CONFIG": str(config)}
    log = open(workdir / "server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "memory_system", "serve", "--dev", "--db", str(db), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {workdir / 'server.log'}")
        try:
            if httpx.get(url + "/health/live", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("server did not come up within 180 s")


def _find(body: Any, key: str) -> Any:
    """The first value named ``key`` anywhere in a JSON body."""
    if isinstance(body, dict):
        if key in body:
            return body[key]
        body = list(body.values())
    if isinstance(body, list):
        for item in body:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def wait_for_indexes(url: str, timeout_s: float = 600) -> float:
    """Seconds until the service's start-up preload of the full-text and vector indexes ended
    (``/health/deep``, the retrieval check): measured requests must not pay for it."""
    import httpx

    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        body = httpx.get(url + "/health/deep", timeout=10).json()
        status, vectors = _find(body, "text_index"), _find(body, "vector_index") or {}
        if status and not status["preloading"] and not status["loading"] and not vectors.get("building"):
            return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"the service's indexes did not load within {timeout_s:.0f} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- load -------------------------------------------------------------------------------


class _Pool:
    """A minimal keep-alive HTTP/1.1 client on asyncio streams: a few microseconds per request,
    where httpx's async client spends ~2 ms of Python per request on these cores and would
    count as server latency."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        while self.idle:  # a kept-alive connection the server may have closed meanwhile (idle timeout)
            try:
                return await self._send(self.idle.pop(), path, body)
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                continue
        return await self._send(await asyncio.open_connection(self.host, self.port), path, body)

    async def _send(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], path: str, body: bytes
    ) -> tuple[int, bytes]:
        reader, writer = conn
        try:
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{self.head}\r\n".encode()
                + body
            )
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            data = await reader.readexactly(length)
        except Exception:
            writer.close()
            raise
        self.idle.append(conn)
        return status, data

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def open_loop(url: str, queries: list[str], rate: float, budget: int = 1000) -> dict[str, Any]:
    """Send ``queries`` at ``rate``/s on a fixed schedule; latency from each planned send time."""
    host, port = url.removeprefix("http://").split(":")
    pool = _Pool(host, int(port), {"x-agent-id": AGENT, "x-namespace": NAMESPACE})
    latencies: list[float] = []
    server_ms: list[float] = []
    modes: dict[str, int] = {}
    cache: dict[str, int] = {}
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(i: int, query: str) -> None:
        nonlocal errors
        planned = start + i / rate
        await asyncio.sleep(max(0.0, planned - loop.time()))
        try:
            status, data = await asyncio.wait_for(
                pool.post("/v1/inject", {"query": query, "token_budget": budget}), timeout=60
            )
        except (TimeoutError, OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            errors += 1
            return
        done = loop.time()
        if status != 200:
            errors += 1
            return
        body = json.loads(data)
        latencies.append((done - planned) * 1000)
        server_ms.append(float(body["took_ms"]))
        modes[body["mode"]] = modes.get(body["mode"], 0) + 1
        cache[body["cache"]] = cache.get(body["cache"], 0) + 1

    try:
        await asyncio.gather(*(one(i, q) for i, q in enumerate(queries)))
    finally:
        pool.close()
    return {
        "rate": rate,
        "requests": len(queries),
        "errors": errors,
        "modes": modes,
        "cache": cache,
        **pcts("", latencies),
        **pcts("server_", server_ms),
    }


def pcts(prefix: str, values: list[float]) -> dict[str, float]:
    if not values:
        return {f"{prefix}p50": float("nan"), f"{prefix}p95": float("nan"), f"{prefix}p99": float("nan")}
    arr = np.array(values)
    return {f"{prefix}p{q}": round(float(np.percentile(arr, q)), 2) for q in (50, 95, 99)}


def run(url: str, queries: list[str], rate: float) -> dict[str, Any]:
    time.sleep(2)  # let work left from the previous phase (abandoned dense steps, reinforcement) finish
    return asyncio.run(open_loop(url, queries, rate))


class Queries:
    """Distinct queries, never repeated within a run: the corpus's questions in a shuffled
    order, then the same questions again with a round marker (still distinct strings)."""

    def __init__(self, questions: list[str], seed: int) -> None:
        self.questions = list(questions)
        random.Random(seed).shuffle(self.questions)
        self.used = 0

    def take(self, count: int) -> list[str]:
        out = []
        for _ in range(count):
            n = self.used
            self.used += 1
            q = self.questions[n % len(self.questions)]
            rounds = n // len(self.questions)
            out.append(q if rounds == 0 else f"{q} (round {rounds})")
        return out


def warm_hot(url: str, hot: list[str]) -> None:
    """Ask each hot query until its answer is cached: a degraded answer is not cached."""
    import httpx

    headers = {"x-agent-id": AGENT, "x-namespace": NAMESPACE}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for query in hot:
            for _ in range(20):
                body = client.post("/v1/inject", json={"query": query, "token_budget": 1000}).json()
                if body["cache"] == "hit":
                    break
                time.sleep(0.2)


def measure_size(url: str, size: int, requests: int, step_s: float, questions: list[str]) -> dict[str, Any]:
    queries = Queries(questions, seed=size)
    # Warm-up: loads the namespace's vectors and the model; not measured.
    run(url, queries.take(30), 10)
    out: dict[str, Any] = {}
    out["miss_20"] = run(url, queries.take(requests), 20)
    hot = queries.take(8)
    warm_hot(url, hot)
    out["hit_20"] = run(url, [hot[i % len(hot)] for i in range(requests)], 20)
    for kind in ("miss", "hit"):
        best: dict[str, Any] | None = None
        steps = []
        for rate in (20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640):
            count = min(max(40, int(rate * step_s)), 1200)
            qs = queries.take(count) if kind == "miss" else [hot[i % len(hot)] for i in range(count)]
            result = run(url, qs, rate)
            steps.append({k: result[k] for k in ("rate", "requests", "errors", "p50", "p95", "p99")})
            print(
                f"  {size} {kind} {rate}/s: p50 {result['p50']} p95 {result['p95']} "
                f"errors {result['errors']}",
                flush=True,
            )
            if result["errors"] or not result["p95"] < 100:
                break
            best = result
        out[f"max_{kind}"] = {"best": best, "steps": steps}
    return out


def notes(results: dict[int, dict[str, Any]]) -> str:
    """The goals, judged on this run's numbers, then what is known about where the time goes."""
    goal = ["Goals at 100,000 memories, 20 req/s: cache miss p95 < 25 ms, cache hit p95 < 5 ms."]
    big = results.get(100_000)
    if big:
        miss, hit = big["miss_20"]["p95"], big["hit_20"]["p95"]
        goal.append(
            f"This run: miss p95 {miss} ms ({'met' if miss < 25 else f'missed, {miss / 25:.1f}x the goal'}),"
            f" hit p95 {hit} ms ({'met' if hit < 5 else f'missed, {hit / 5:.1f}x the goal'})."
        )
    return " ".join(goal) + "\n\n" + ANALYSIS


ANALYSIS = """\
Where a cache miss at 100k goes (in-process breakdowns and py-spy profiles during development,
quiet machine; benchmarks/fulltext.py, benchmarks/vector_search.py and benchmarks/embedding.py
measure the pieces alone):

- Full text, on the request's thread: the in-memory BM25 index (memory/retrieval/text_index.py) ranks
  the ~7,100 matches of a median question in ~2 ms, re-check included. Through FTS5 it was
  12 / 21 ms p50 / p95 and the largest part of the 37 ms p95 this benchmark measured before.
- Dense, on its own thread at the same time: the query embedded by onnxruntime with int8
  weights (~1.7 ms; 3-5 ms in fp32), the namespace's HNSW graph asked for 320 neighbours
  (~1-2 ms; the exact scan of 100k x 384 float32 is ~11 ms on one thread), then the re-check of
  the first 160 candidates (~0.9 ms).
- Meanwhile the request's thread reads preferences, code patterns and graph entities
  (`Retrieval.begin` / `result`), then fuses, ranks and packs the block (~2-3 ms).
- The HTTP path and the client add ~3-4 ms (the cache-hit rows: the service's own work on a hit
  is ~0.05 ms).
- Before measuring, the script waits for the service's start-up load of the indexes (the
  "Setup times" line): until then FTS5 and the exact scan answer, as after every restart.
- Run to run: the contention probe above says how busy the cores were. In a full run of the
  same code 20 minutes earlier it read 8.4 / 10.7 ms and that run measured 100k miss p95
  26.9 ms and hit p95 7.7 ms; shorter runs in between (misses and hits only, no probe) measured
  miss p95 21.7-26.8 ms and hit p95 4.86-4.93 ms. The goals hold on a quiet machine, with
  little margin for hits when the box is busy."""


def section(
    results: dict[int, dict[str, Any]],
    setups: dict[int, dict[str, Any]],
    command: str,
    corpus_name: str,
    probes: dict[int, float],
) -> str:
    lines = [
        "## Injection latency (POST /v1/inject over HTTP)",
        "",
        f"Machine: {machine()}. Revision {git_revision()}. Command: `{command}`.",
        "Setup: memories created through the service layer (`MemoryService.create_batch`, 1,000 per call),",
        f"each one of the {corpus_name} plus its own `(ref n)` tag, stored with the model's vector of that",
        "text before measuring; one namespace, one agent; queries: the corpus's questions, never repeated",
        "for cache misses;",
        (
            "`memory-system serve --dev` as its own process; client: a minimal asyncio HTTP/1.1 keep-alive "
            "client in another process on"
        ),
        "the same cores, open-loop schedule, latency from each request's planned send time; token",
        "budget 1,000, markdown. Contention probe (a fixed numpy job, ~3.6 ms p50 on this machine",
        "when quiet; higher means other work shared the cores) before each size: "
        + ", ".join(f"{size:,}: {ms} ms" for size, ms in probes.items())
        + ".",
        "",
        "| memories | load | requests | p50 ms | p95 ms | p99 ms | server took_ms p50 / p95 | mode |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size, res in results.items():
        for key, label in (("miss_20", "cache miss, 20 req/s"), ("hit_20", "cache hit, 20 req/s")):
            r = res[key]
            lines.append(
                f"| {size:,} | {label} | {r['requests']} | {r['p50']} | {r['p95']} | {r['p99']} | "
                f"{r['server_p50']} / {r['server_p95']} | {r['modes']} |"
            )
    lines += [
        "",
        "Highest rate with p95 < 100 ms (rate stepped up; 'best' is the last step under):",
        "",
        "| memories | load | best rate req/s | p50 / p95 / p99 ms there | next step |",
        "|---|---|---|---|---|",
    ]
    for size, res in results.items():
        for kind in ("miss", "hit"):
            entry = res[f"max_{kind}"]
            best = entry["best"]
            nxt = entry["steps"][-1] if entry["steps"] else None
            best_txt = f"{best['rate']:g}" if best else "< 20"
            pct = f"{best['p50']} / {best['p95']} / {best['p99']}" if best else "-"
            if nxt and (not best or nxt["rate"] != best["rate"]):
                nxt_txt = f"{nxt['rate']:g}/s: p95 {nxt['p95']} ms, {nxt['errors']} errors"
            else:
                nxt_txt = "(top of the range)"
            lines.append(f"| {size:,} | cache {kind} | {best_txt} | {pct} | {nxt_txt} |")
    lines += [
        "",
        notes(results),
        "",
        "Setup times: "
        + "; ".join(
            f"{size:,}: "
            + (
                s.get("note")
                or (
                    "reused an earlier filled database"
                    if s.get("reused")
                    else f"ingest {s.get('ingest_s')} s, embedding {s.get('embed_s')} s"
                )
            )
            + (
                f"; the service's start-up index load took {s['index_load_s']} s "
                "(waited for before measuring)"
                if "index_load_s" in s
                else ""
            )
            for size, s in setups.items()
        )
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--requests", type=int, default=400, help="requests per 20 req/s phase")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="length of each rate step")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/memory-system-injection-bench"))
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    parser.add_argument("--fill-only", action="store_true", help="build the databases, measure nothing")
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="rewrite the section from the last run's results.json, measure nothing",
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/injection.py " + " ".join(sys.argv[1:])
    corpus_name, _, questions = corpus()
    if args.from_results:
        saved = json.loads((args.workdir / "results.json").read_text())
        text = section(
            {int(k): v for k, v in saved["results"].items()},
            {int(k): v for k, v in saved["setups"].items()},
            saved["command"],
            corpus_name,
            {int(k): v for k, v in saved["probes"].items()},
        )
        print(text)
        if not args.no_write:
            write_section("injection", text)
        return
    results: dict[int, dict[str, Any]] = {}
    probes: dict[int, float] = {}
    setups: dict[int, dict[str, Any]] = {}
    for size in args.sizes:
        db = args.workdir / f"inject-{size}.db"
        print(f"[{size}] filling {db}", flush=True)
        setups[size] = fill(db, size)
        print(f"[{size}] setup {setups[size]}", flush=True)
        if args.fill_only:
            continue
        proc, url = start_server(db, args.workdir)
        setups[size]["index_load_s"] = round(wait_for_indexes(url), 1)
        probes[size] = contention_probe()
        try:
            results[size] = measure_size(url, size, args.requests, args.step_seconds, questions)
        finally:
            stop_server(proc)
        print(
            json.dumps({"size": size, **{k: v for k, v in results[size].items() if not k.startswith("max")}}),
            flush=True,
        )
    if args.fill_only:
        return
    text = section(results, setups, command.strip(), corpus_name, probes)
    print(text)
    (args.workdir / "results.json").write_text(
        json.dumps(
            {"results": results, "setups": setups, "probes": probes, "command": command.strip()}, indent=1
        )
    )
    if not args.no_write:
        write_section("injection", text)


if __name__ == "__main__":
    main()
