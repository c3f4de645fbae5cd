"""How the service was started: ``<db>.service.json``, written by ``serve`` once it holds the lock.

Options B and C restart the service with the same arguments and environment it has now
(only, for B, from another release's executable), so ``serve`` records them next to the
database (mode 0600: the environment may hold the admin token, which is never logged or
printed; ``StartRecord.redacted`` shows it as ``***``). ``service_control`` acts on it;
``flags show`` reads it to find the service's URL.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from memory_system.core.build import build_info
from memory_system.core.clock import utc_now
from memory_system.core.logging import log_event
from memory_system.core.settings import Settings

logger = logging.getLogger("memory_system.service_control")

RECORD_SUFFIX = ".service.json"
CONSOLE_SUFFIX = ".service.log"
ENV_SYSTEMD_UNIT = "MEMORY_SYSTEM_SYSTEMD_UNIT"
DEFAULT_UNIT = "memory-system.service"
# What a restart must carry over: the flags, the service's own settings, the model caches.
# Never PYTHONPATH or VIRTUAL_ENV: they would make another release's executable import this one.
RECORDED_PREFIXES = ("USE_", "MEMORY_SYSTEM_", "HF_", "SENTENCE_TRANSFORMERS_", "TRANSFORMERS_")
RECORDED_NAMES = ("HOME", "INVOCATION_ID", "LANG", "LC_ALL", "TZ")
SECRET_MARKERS = ("TOKEN", "SECRET", "PASSWORD", "KEY")


class ServiceControlError(Exception):
    """The service could not be stopped or started; the message says why and what to do."""


@dataclass
class StartRecord:
    pid: int
    program: list[str]  # the executable part: [python, -m, memory_system] or [.../bin/memory-system]
    args: list[str]  # "serve" and its options, as given
    cwd: str
    env: dict[str, str]
    host: str
    port: int
    db_path: str
    log_file: str | None
    started_at: str
    version: str
    commit: str
    systemd_unit: str | None = None

    @property
    def argv(self) -> list[str]:
        return [*self.program, *self.args]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "argv": self.argv}

    def redacted(self) -> dict[str, Any]:
        """For printing: secrets in the environment shown as ``***``."""
        shown = self.to_dict()
        shown["env"] = {k: ("***" if _is_secret(k) else v) for k, v in self.env.items()}
        return shown


def record_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + RECORD_SUFFIX)


def console_log_path(db_path: str | Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + CONSOLE_SUFFIX)


def _is_secret(name: str) -> bool:
    return any(marker in name.upper() for marker in SECRET_MARKERS)


def _program(argv0: str) -> list[str]:
    """The executable part of ``sys.argv``: ``python -m memory_system`` leaves the package's
    ``__main__.py`` in argv[0], which cannot be run by itself; a console script can."""
    path = Path(argv0)
    if path.name == "__main__.py" or path.suffix == ".py" or not path.exists():
        return [sys.executable, "-m", "memory_system"]
    return [str(path.absolute())]


def _systemd_unit(env: Mapping[str, str]) -> str | None:
    unit = env.get(ENV_SYSTEMD_UNIT, "").strip()
    if unit:
        return unit
    if not env.get("INVOCATION_ID"):
        return None
    try:  # cgroup v2: "0::/system.slice/memory-system.service"
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            last = line.rsplit("/", 1)[-1]
            if last.endswith(".service"):
                return last
    except OSError:
        pass
    return DEFAULT_UNIT


def record_start(settings: Settings, argv: Sequence[str], env: Mapping[str, str]) -> Path | None:
    """Write ``<db>.service.json`` atomically; a failure is logged, never fatal to the start."""
    info = build_info()
    kept = {k: v for k, v in env.items() if k.startswith(RECORDED_PREFIXES) or k in RECORDED_NAMES}
    record = StartRecord(
        pid=os.getpid(),
        program=_program(argv[0] if argv else ""),
        args=list(argv[1:]),
        cwd=os.getcwd(),
        env=kept,
        host=settings.host,
        port=settings.port,
        db_path=str(Path(settings.db_path).absolute()),
        log_file=str(settings.log_file) if settings.log_file else None,
        started_at=utc_now(),
        version=info.version,
        commit=info.commit,
        systemd_unit=_systemd_unit(env),
    )
    path = record_path(settings.db_path)
    try:
        write_record(path, record)
    except OSError as exc:
        log_event(
            logger,
            "service_record_failed",
            logging.WARNING,
            path=str(path),
            error=exc.strerror or str(exc),
            outcome="the service runs; rollback b cannot restart it with the same arguments",
        )
        return None
    return path


def write_record(path: Path, record: StartRecord) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(record.to_dict(), out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_start(db_path: str | Path) -> StartRecord:
    path = record_path(db_path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ServiceControlError(
            f"no start record {path}: the service was never started on {db_path} by a release that "
            "records it; start it once with 'memory-system serve --db ...'"
        ) from None
    except (OSError, ValueError) as exc:
        raise ServiceControlError(f"cannot read start record {path}: {exc}; start the service again") from exc
    data.pop("argv", None)
    try:
        return StartRecord(**data)
    except TypeError as exc:
        raise ServiceControlError(f"start record {path} is not one this release wrote: {exc}") from exc


def service_url(record: StartRecord) -> str:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(record.host, record.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{record.port}"
