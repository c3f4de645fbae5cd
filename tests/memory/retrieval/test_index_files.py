"""Persisted HNSW graphs: a restart with valid files loads them instead of building; a file
that disagrees with the database is rebuilt and never serves a deleted or foreign memory;
removing the files, or restoring a backup, loses nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from memory_system.memory.retrieval import index_files
from memory_system.memory.retrieval.index_files import GraphFiles
from memory_system.runtime import Runtime
from memory_system.store import embeddings as vec_store

from .conftest import HashEmbedder, agrees_with_exact, dense_ids, embed_all, write

QUERIES = ["topic 3 notes", "what about note p 17", "unrelated words entirely"]


def files_of(runtime: Runtime) -> GraphFiles:
    assert runtime.retrieval.index is not None and runtime.retrieval.index.files is not None
    return runtime.retrieval.index.files


def built_and_saved(make: Callable[..., Runtime], count: int = 400, ns: str = "p") -> list[int]:
    """A namespace with a graph, saved by the graph thread, then the runtime closed."""
    runtime = make()
    ids = write(runtime, count, ns=ns)
    embed_all(runtime)
    dense_ids(runtime, "warm", ns=ns)
    index = runtime.retrieval.index
    assert index is not None and index.wait_graphs(30) and index.graph_stats(ns) is not None
    assert files_of(runtime).saves == 1
    runtime.close()
    return ids


def header(db: Path, ns: str = "p") -> Path:
    (found,) = [
        p for p in index_files.index_dir(db).glob("*.json") if json.loads(p.read_text())["namespace"] == ns
    ]
    return found


def test_restart_with_valid_files_loads_the_graph_instead_of_building(
    hash_runtime: Callable[..., Runtime], migrated_db: Path
) -> None:
    built_and_saved(hash_runtime)
    runtime = hash_runtime()
    index = runtime.retrieval.index
    assert index is not None and index.ensure_loaded("p")
    files = files_of(runtime)
    assert (files.loads, files.rejected) == (1, 0)
    assert index.graph_stats("p") is not None  # there at once: no build was started
    before = index.graph_searches
    for query in QUERIES:
        assert agrees_with_exact(runtime, query)
    assert index.graph_searches > before
    runtime.close()
    assert files.saves == 0  # nothing changed: nothing written at shutdown


def delete_one(runtime: Runtime, memory_id: int) -> None:
    runtime.memories.delete(memory_id, namespace="p", agent_id="a", sharing_enabled=False)


def add_one_behind_its_back(runtime: Runtime) -> int:
    (memory_id,) = write(runtime, 1, start=10_000)
    vector = HashEmbedder().encode(["behind its back"])[0]
    with runtime.db.write() as conn:
        vec_store.write_vectors(conn, [(memory_id, "p", vector.tobytes())], "hash-16", 16)
    return memory_id


@pytest.mark.parametrize("change", ["deleted", "added", "model", "truncated", "garbage"])
def test_a_file_that_disagrees_is_rebuilt_and_never_serves_a_deleted_memory(
    hash_runtime: Callable[..., Runtime], migrated_db: Path, change: str
) -> None:
    ids = built_and_saved(hash_runtime)
    writer = hash_runtime()  # its index never loads "p": the change is behind the files' back
    gone = ids[5]
    delete_one(writer, gone)
    added = add_one_behind_its_back(writer) if change == "added" else None
    head = header(migrated_db)
    graph_file = head.with_name(json.loads(head.read_text())["graph_file"])
    if change == "model":
        head.write_text(json.dumps({**json.loads(head.read_text()), "model": "another-model"}))
    elif change == "truncated":
        graph_file.write_bytes(graph_file.read_bytes()[:1000])
    elif change == "garbage":
        graph_file.write_bytes(b"\x07" * graph_file.stat().st_size)
    writer.close()

    runtime = hash_runtime()
    index = runtime.retrieval.index
    assert index is not None and index.ensure_loaded("p")
    files = files_of(runtime)
    assert (files.loads, files.rejected) == (0, 1), files.last_rejection
    assert index.wait_graphs(30) and index.graph_stats("p") is not None  # rebuilt in the background
    assert files.saves == 1
    for query in [*QUERIES, "behind its back"]:
        found = dense_ids(runtime, query, k=50)
        assert gone not in found
        assert agrees_with_exact(runtime, query)
    if added is not None:
        assert dense_ids(runtime, "behind its back")[0] == added


def test_a_graph_behind_its_vectors_with_a_matching_watermark_is_caught_up(
    hash_runtime: Callable[..., Runtime], migrated_db: Path
) -> None:
    """The watermark is only the cheap gate: the loaded graph is checked against the vectors
    read from SQLite, so even a header that lies about the database serves nothing deleted."""
    ids = built_and_saved(hash_runtime)
    writer = hash_runtime()
    gone = ids[7]
    delete_one(writer, gone)
    added = add_one_behind_its_back(writer)
    head = header(migrated_db)
    forged = vec_store.namespace_watermark(writer.db.reader(), "p", "hash-16", 16)
    head.write_text(json.dumps({**json.loads(head.read_text()), "watermark": list(forged)}))
    writer.close()

    runtime = hash_runtime()
    index = runtime.retrieval.index
    assert index is not None and index.ensure_loaded("p")
    assert files_of(runtime).loads == 1
    assert gone not in dense_ids(runtime, "note p 7 about topic 0", k=50)
    assert dense_ids(runtime, "behind its back")[0] == added
    assert index.wait_graphs(30)
    stats = index.graph_stats("p")
    assert stats is not None and stats["stale"] == 0 and stats["vectors"] == len(ids)


def test_another_namespaces_graph_is_never_served(
    hash_runtime: Callable[..., Runtime], migrated_db: Path
) -> None:
    p_ids = set(built_and_saved(hash_runtime, ns="p"))
    built_and_saved(hash_runtime, ns="q")
    q_head, p_head = header(migrated_db, "q"), header(migrated_db, "p")
    # q's header, watermark and all, now names p's graph file
    p_graph = json.loads(p_head.read_text())
    q_head.write_text(
        json.dumps(
            {**json.loads(q_head.read_text()), **{k: p_graph[k] for k in ("graph_file", "graph_bytes")}}
        )
    )
    runtime = hash_runtime()
    index = runtime.retrieval.index
    assert index is not None and index.ensure_loaded("q")
    assert files_of(runtime).rejected == 1
    for query in QUERIES:
        assert not p_ids & set(dense_ids(runtime, query, ns="q", k=50))
        assert agrees_with_exact(runtime, query, ns="q")


def test_removing_the_files_loses_nothing(hash_runtime: Callable[..., Runtime], migrated_db: Path) -> None:
    built_and_saved(hash_runtime)
    shutil.rmtree(index_files.index_dir(migrated_db))
    runtime = hash_runtime()
    index = runtime.retrieval.index
    assert index is not None and index.ensure_loaded("p")
    assert (files_of(runtime).loads, files_of(runtime).rejected) == (0, 0)
    for query in QUERIES:
        assert agrees_with_exact(runtime, query)
    assert index.wait_graphs(30) and files_of(runtime).saves == 1


def test_invalidate_removes_the_files(hash_runtime: Callable[..., Runtime], migrated_db: Path) -> None:
    built_and_saved(hash_runtime)
    assert index_files.invalidate(migrated_db)
    assert not index_files.index_dir(migrated_db).exists()
    assert not index_files.invalidate(migrated_db)


def test_db_restore_removes_the_saved_graphs(hash_runtime: Callable[..., Runtime], migrated_db: Path) -> None:
    from memory_system.ops import backup as backups
    from memory_system.ops.restore import execute_restore, plan_restore

    made = backups.create_backup(migrated_db)
    built_and_saved(hash_runtime)
    assert list(index_files.index_dir(migrated_db).glob("*.usearch"))
    execute_restore(plan_restore(migrated_db, made.path))
    assert not index_files.index_dir(migrated_db).exists()
    runtime = hash_runtime()  # the restored file: no memories, and no graph of the replaced one
    assert runtime.retrieval.index is not None and runtime.retrieval.index.ensure_loaded("p")
    assert runtime.retrieval.index.size("p") == 0 and files_of(runtime).loads == 0
