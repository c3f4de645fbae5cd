"""Persisted HNSW graphs: files next to the database that spare a restart the graph builds.

Why: at 100k memories a namespace's graph takes ~70 s to build on one thread (issue 14), and
until then its searches take the exact scan. A saved graph loads in well under a second.

Layout: ``<db>.index/`` holds, per namespace, ``<key>.json`` (the header) and the usearch
file it names (``<key>-<stamp>.usearch``). Both are written to a temp file and renamed; the
graph first, then the header, so a header always names a whole graph; older graphs of the
namespace are removed after. ``key`` is a hash of the namespace (names may hold any character).

A header records the model, dimension and dtype, and the database's watermark for the
namespace when it was saved (``store.embeddings.namespace_watermark``: vector count, max
memory id, latest write). On load a header that disagrees with the database or this process
is ignored: the namespace's graph is rebuilt in the background while the exact scan answers.
Even an accepted graph is then reconciled with the vectors read from SQLite (``VectorIndex``),
so a graph saved a moment behind its vectors is caught up, not trusted. These files are caches
of what SQLite holds: removing them loses nothing, ``db backup`` leaves them out and
``db restore`` removes them (``invalidate``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memory_system.core.logging import log_event

__all__ = ["FORMAT", "SUFFIX", "GraphFiles", "Watermark", "index_dir", "invalidate"]

FORMAT = 1
SUFFIX = ".index"
Watermark = tuple[int, int, str]  # (vector count, max memory id, latest created_at)
_log = logging.getLogger(__name__)


def index_dir(db_path: Path) -> Path:
    """Where the persisted indexes of the database at ``db_path`` live."""
    return db_path.with_name(db_path.name + SUFFIX)


def invalidate(db_path: Path) -> bool:
    """Remove the persisted indexes of a database (``db restore`` put another file in place)."""
    directory = index_dir(db_path)
    if not directory.exists():
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return True


class GraphFiles:
    """Save and load one process's HNSW graphs (one model, dim and dtype) for its database.

    ``watermark(namespace)`` reads the database's watermark; ``loads``, ``rejected`` and
    ``saves`` count what happened (health output and tests read them).
    """

    def __init__(
        self, directory: Path, *, model: str, dim: int, dtype: str, watermark: Callable[[str], Watermark]
    ) -> None:
        self.directory = directory
        self.model = model
        self.dim = dim
        self.dtype = dtype
        self.watermark = watermark
        self.loads = 0
        self.rejected = 0
        self.saves = 0
        self.last_rejection: str | None = None

    def _key(self, namespace: str) -> str:
        return hashlib.sha256(namespace.encode()).hexdigest()[:24]

    def _header_path(self, namespace: str) -> Path:
        return self.directory / f"{self._key(namespace)}.json"

    def save(self, namespace: str, graph: Any, watermark: Watermark) -> Path | None:
        """Write ``graph`` (a usearch Index; the caller holds its lock) with its header."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            key = self._key(namespace)
            name = f"{key}-{time.time_ns()}.usearch"
            temp = self.directory / f".{name}.partial"
            graph.save(str(temp))
            os.replace(temp, self.directory / name)
            header = {
                "format": FORMAT,
                "namespace": namespace,
                "model": self.model,
                "dim": self.dim,
                "dtype": self.dtype,
                "watermark": list(watermark),
                "vectors": len(graph),
                "graph_file": name,
                "graph_bytes": (self.directory / name).stat().st_size,
            }
            temp_header = self.directory / f".{key}.json.partial"
            temp_header.write_text(json.dumps(header))
            os.replace(temp_header, self._header_path(namespace))
            for old in self.directory.glob(f"{key}-*.usearch"):
                if old.name != name:
                    old.unlink(missing_ok=True)
        except OSError as exc:  # a full or read-only disk: the graph stays in memory, rebuilt next start
            log_event(_log, "vector_index_save_failed", level=logging.WARNING, error=str(exc))
            return None
        self.saves += 1
        log_event(_log, "vector_index_saved", namespace_key=key, vectors=header["vectors"])
        return self.directory / name

    def load(self, namespace: str, make_index: Callable[[], Any], watermark: Watermark) -> Any | None:
        """The namespace's saved graph if its header agrees with this process and with
        ``watermark`` (the database's, read by the caller before it read the vectors); None
        otherwise (the reason is logged as ``vector_index_file_rejected``)."""
        path = self._header_path(namespace)
        if not path.exists():
            return None
        try:
            header = json.loads(path.read_text())
            reason = self._disagreement(namespace, header, watermark)
            if reason is None:
                graph_path = self.directory / str(header["graph_file"])
                if graph_path.stat().st_size != header["graph_bytes"]:
                    reason = "graph file size differs from its header"
                else:
                    graph = make_index()
                    graph.load(str(graph_path))
                    if len(graph) != header["vectors"]:
                        reason = "graph holds another number of vectors than its header"
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            reason = f"unreadable: {type(exc).__name__}: {exc}"
        if reason is not None:
            self.rejected += 1
            self.last_rejection = reason
            log_event(_log, "vector_index_file_rejected", namespace_key=self._key(namespace), reason=reason)
            self.discard(namespace)
            return None
        self.loads += 1
        log_event(
            _log, "vector_index_loaded_from_file", namespace_key=self._key(namespace), vectors=len(graph)
        )
        return graph

    def _disagreement(self, namespace: str, header: dict[str, Any], watermark: Watermark) -> str | None:
        if header.get("format") != FORMAT:
            return f"format {header.get('format')!r}, expected {FORMAT}"
        if header.get("namespace") != namespace:
            return "header names another namespace"
        made_by = (header.get("model"), header.get("dim"), header.get("dtype"))
        if made_by != (self.model, self.dim, self.dtype):
            return (
                f"made by {header.get('model')}/{header.get('dim')}/{header.get('dtype')}, "
                f"this process uses {self.model}/{self.dim}/{self.dtype}"
            )
        if tuple(header.get("watermark") or ()) != tuple(watermark):
            return "the database's vectors changed since it was saved"
        return None

    def discard(self, namespace: str) -> None:
        key = self._key(namespace)
        with contextlib.suppress(OSError):
            self._header_path(namespace).unlink(missing_ok=True)
            for old in self.directory.glob(f"{key}-*.usearch"):
                old.unlink(missing_ok=True)
