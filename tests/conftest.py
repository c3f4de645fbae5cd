"""Shared fixtures: real SQLite files in a tmp dir, the CLI run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memory_system.memory.records.events import MemoryEvents
from memory_system.store.connection import Database

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def migrated_db(db_file: Path) -> Path:
    from memory_system.ops import schema

    schema.migrate(db_file)
    return db_file


@pytest.fixture
def db(migrated_db: Path) -> Iterator[Database]:
    """The service layer's handle on a migrated database file, closed at teardown."""
    database = Database(migrated_db)
    yield database
    database.close()


@pytest.fixture
def events() -> MemoryEvents:
    return MemoryEvents()


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[CliRunner]:
    """Run ``memory-system`` as a subprocess, the way an operator would."""

    def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "HOME": str(tmp_path / "home"), "COLUMNS": "200", **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "memory_system", *args],
            capture_output=True,
            text=True,
            input=input,
            env=full_env,
            timeout=240,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"memory-system {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    yield run


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start the real app under uvicorn in a thread on a free loopback port; yields a factory.

    ``start(**settings_overrides)`` returns the base URL; the server and runtime are shut
    down at teardown. For lifecycle behaviour (signals), tests run ``memory-system serve``
    as a subprocess instead.
    """
    import threading
    import time

    import httpx
    import uvicorn

    from memory_system.api.app import create_app
    from memory_system.core.settings import Settings
    from memory_system.ops import schema
    from memory_system.runtime import Runtime

    started: list[tuple[uvicorn.Server, threading.Thread, Runtime]] = []

    def start(**overrides: object) -> str:
        settings = Settings(
            db_path=tmp_path / f"server{len(started)}.db", dev=True, config_path=tmp_path / "no-config.json"
        )
        for key, value in overrides.items():
            setattr(settings, key, value)
        schema.migrate(settings.db_path)
        runtime = Runtime(settings)
        port = free_port()
        config = uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(url + "/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        started.append((server, thread, runtime))
        return url

    yield start
    for server, thread, runtime in started:
        server.should_exit = True
        thread.join(timeout=10)
        runtime.close()


@pytest.fixture
def graph_rows() -> Callable[[Path], tuple[list[tuple[object, ...]], ...]]:
    """Every Phase 1 row of a database file, to prove that a refused call changed nothing."""
    from memory_system.store.connection import open_connection

    def rows(path: Path) -> tuple[list[tuple[object, ...]], ...]:
        conn = open_connection(path, create=False)
        try:
            return tuple(
                [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY id")]
                for table in ("entities", "observations", "relations")
            )
        finally:
            conn.close()

    return rows


@pytest.fixture
def fill_phase_data() -> Callable[[Path], None]:
    """``fill(db)``: Phase 1 rows (3 entities, 2 relations, 4 observations) and rows in the
    Phase 2-4 tables, written with SQL through the store, for database-operation tests.
    ``fill(db, phase_1=False)`` writes only the Phase 2-4 rows."""
    from memory_system.store.connection import open_connection, transaction

    def fill(path: Path, phase_1: bool = True) -> None:
        conn = open_connection(path, create=False)
        with transaction(conn):
            for i, name in enumerate(("alice", "bob", "carol") if phase_1 else (), 1):
                conn.execute(
                    "INSERT INTO entities (id, name, entity_type) VALUES (?, ?, 'person')", (i, name)
                )
            if phase_1:
                conn.executemany(
                    "INSERT INTO relations (from_id, to_id, relation_type) VALUES (?, ?, 'knows')",
                    [(1, 2), (2, 3)],
                )
                conn.executemany(
                    "INSERT INTO observations (entity_id, content) VALUES (?, ?)",
                    [(1, "likes tea"), (1, "writes Go"), (2, "on call"), (3, "new")],
                )
            for i in range(1, 6):
                conn.execute(
                    "INSERT INTO memories (agent_id, content, content_hash) VALUES ('a1', ?, ?)",
                    (f"memory {i}", f"h{i}"),
                )
            conn.execute(
                "INSERT INTO memory_embeddings (memory_id, namespace, model, dim, vector) "
                "VALUES (1, 'default', 'm', 2, x'0000803f00000000')"
            )
            conn.execute(
                "INSERT INTO memory_shares (memory_id, namespace, granted_by) VALUES (1, 'default', 'a1')"
            )
            conn.execute(
                "INSERT INTO share_events (memory_id, namespace, action, actor) "
                "VALUES (1, 'default', 'grant', 'a1')"
            )
            conn.execute(
                "INSERT INTO user_preferences (user_id, key, value) VALUES ('u', 'tone', '\"terse\"')"
            )
            conn.execute(
                "INSERT INTO code_patterns (agent_id, language, name) VALUES ('a1', 'python', 'ctx')"
            )
            conn.execute("INSERT INTO session_state (session_id, agent_id) VALUES ('s1', 'a1')")
            conn.execute("INSERT INTO memory_metadata (key, value) VALUES ('embedding_model', 'm')")
        conn.close()

    return fill


class AckedWriter:
    """tests/store/acked_writer.py as a subprocess; ``acked`` collects the ids it acknowledged."""

    def __init__(self, db: Path) -> None:
        import threading

        script = Path(__file__).parent / "store" / "acked_writer.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.acked: list[int] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self.ready.wait(30):
            self.kill()
            raise AssertionError(
                f"writer did not start: {self.proc.stderr.read() if self.proc.stderr else ''}"
            )

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == "ready":
                self.ready.set()
            elif line.strip():
                self.acked.append(int(line))

    def wait_for(self, count: int, timeout: float = 60) -> None:
        import time

        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"writer acknowledged {len(self.acked)} of {count} writes")
            time.sleep(0.005)

    def kill(self) -> list[int]:
        """SIGKILL, then every id acknowledged before death (the pipe is read to its end)."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        return list(self.acked)


@pytest.fixture
def acked_writer() -> Iterator[Callable[[Path], AckedWriter]]:
    started: list[AckedWriter] = []

    def start(db: Path) -> AckedWriter:
        started.append(AckedWriter(db))
        return started[-1]

    yield start
    for writer in started:
        if writer.proc.poll() is None:
            writer.kill()


@pytest.fixture
def corrupt_index() -> Callable[[Path], None]:
    """``corrupt(db)``: damage the entities name index in place (the file still opens), so
    ``integrity_check`` reports rows missing from the index (``tests/faults/_corrupt.py``)."""
    from tests.faults._corrupt import damage_index_keys

    return damage_index_keys


@pytest.fixture
def hold_service_lock() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """``hold(db)``: another process takes the service lock (as ``serve`` does) until teardown."""
    held: list[subprocess.Popen[str]] = []
    code = (
        "import sys; from memory_system.store.lockfile import ServiceLock; "
        "ServiceLock(sys.argv[1]).acquire(); print('held', flush=True); sys.stdin.read()"
    )

    def hold(db: Path) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        held.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        return proc

    yield hold
    for proc in held:
        proc.kill()
        proc.wait(timeout=30)


class ServedProcess:
    """``memory-system serve`` running as a real subprocess on a free loopback port."""

    def __init__(
        self, proc: subprocess.Popen[bytes], url: str, db: Path, config: Path, log_file: Path, stderr: Path
    ) -> None:
        self.proc, self.url, self.db, self.config, self.log_file, self.stderr = (
            proc,
            url,
            db,
            config,
            log_file,
            stderr,
        )

    def send(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; the exit code (0 for a clean drain)."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def log_events(self) -> list[dict[str, object]]:
        import json

        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., ServedProcess]]:
    """Start ``memory-system serve`` as a subprocess; returns once /health/live answers.

    ``start(*extra_args, config=dict|None, env=dict|None, db=Path|None, dev=False, wait=True)``.
    Flag and admin-token variables of the test process's environment are not inherited; pass
    them in ``env``. Every process still running at teardown gets SIGTERM, then SIGKILL.
    """
    import json
    import signal
    import time

    import httpx

    started: list[ServedProcess] = []

    def start(
        *extra: str,
        config: dict[str, object] | None = None,
        env: dict[str, str] | None = None,
        db: Path | None = None,
        dev: bool = False,
        wait: bool = True,
    ) -> ServedProcess:
        n = len(started)
        db = db or tmp_path / f"serve{n}" / "memory.db"
        config_path = tmp_path / f"serve{n}-config.json"
        config_path.write_text(json.dumps(config or {}))
        log_file = tmp_path / f"serve{n}-app.log"
        stderr_path = tmp_path / f"serve{n}-stderr.log"
        port = free_port()
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("USE_", "MEMORY_SYSTEM_"))}
        # Full-text retrieval unless a test asks for the model: start-up in ~1 s, not ~6 s.
        full_env = {**clean, "HOME": str(tmp_path / "home"), "MEMORY_SYSTEM_EMBEDDER": "none", **(env or {})}
        args = [
            sys.executable,
            "-m",
            "memory_system",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            str(db),
            "--config",
            str(config_path),
            "--log-file",
            str(log_file),
            *extra,
        ]
        if dev:
            args.append("--dev")
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env=full_env)
        served = ServedProcess(proc, f"http://127.0.0.1:{port}", db, config_path, log_file, stderr_path)
        started.append(served)
        if wait:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise AssertionError(f"serve exited with {proc.returncode}:\n{stderr_path.read_text()}")
                try:
                    if httpx.get(served.url + "/health/live", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"serve did not answer within 60 s:\n{stderr_path.read_text()}")
                time.sleep(0.05)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.send_signal(signal.SIGTERM)
            try:
                served.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                served.proc.kill()
                served.proc.wait(timeout=15)


@pytest.fixture(scope="session")
def minilm() -> object:
    """The real all-MiniLM-L6-v2, loaded once per test session, offline, from the installed package.

    Every runtime in the test process shares it (``embeddings.shared_minilm``)."""
    pytest.importorskip("sentence_transformers", reason="the semantic extra is not installed")
    from memory_system.memory.retrieval.embeddings import shared_minilm

    return shared_minilm()
