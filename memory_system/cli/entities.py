"""``memory-system entities ...``: Phase 1 knowledge graph import, export and a quick look."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from memory_system.cli._common import (
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    open_migrated,
    path_value,
    print_json,
)
from memory_system.cli._tables import new_table, print_table
from memory_system.memory.graph.entities import DEFAULT_NAMESPACE, GraphError, KnowledgeGraph
from memory_system.memory.graph.jsonl import JsonlError, export_jsonl, import_jsonl

app = typer.Typer(help="Phase 1 entity memory: import, export, show.", no_args_is_help=True)

NamespaceOption = Annotated[str, typer.Option("--namespace", "-n", help="Project namespace of the graph.")]


@contextmanager
def _graph(db: Path | None) -> Iterator[KnowledgeGraph]:
    with open_migrated(db, lambda r: r.schema_version() >= 1, "no entity tables yet") as runtime:
        yield runtime.graph


@app.command("import")
def import_(
    path: Annotated[
        Path, typer.Argument(parser=path_value, help="memory.jsonl file of the reference MCP memory server.")
    ],
    namespace: NamespaceOption = DEFAULT_NAMESPACE,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Merge a memory.jsonl file into a namespace, all in one transaction."""
    with _graph(db) as graph:
        try:
            with console.status(f"importing {path} ..."):
                summary = import_jsonl(graph, path, namespace)
        except (JsonlError, GraphError) as exc:
            fail(f"{exc}; nothing was imported")
    if json_out:
        print_json(summary.to_dict())
        return
    for line, missing in summary.relations_skipped:
        err_console.print(
            f"[yellow]skipped[/] line {line}: relation names entity {missing!r}, which does not exist",
            highlight=False,
        )
    skipped = len(summary.relations_skipped)
    console.print(
        f"imported {path} into namespace {namespace!r}: {summary.entities_created} entities created, "
        f"{summary.entities_merged} merged, {summary.observations_added} observations added, "
        f"{summary.relations_created} relations created ({summary.relations_existing} already there), "
        f"{skipped} relations skipped for a missing entity",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def export(
    path: Annotated[
        Path, typer.Argument(parser=path_value, help="File to write (replaced atomically if it exists).")
    ],
    namespace: NamespaceOption = DEFAULT_NAMESPACE,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Write a namespace's graph as memory.jsonl, readable by the reference MCP memory server."""
    with _graph(db) as graph:
        try:
            summary = export_jsonl(graph, path, namespace)
        except (JsonlError, GraphError) as exc:
            fail(str(exc))
    if json_out:
        print_json(summary.to_dict())
        return
    console.print(
        f"exported namespace {namespace!r} to {path}: {summary.entities} entities, "
        f"{summary.relations} relations",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def show(
    namespace: NamespaceOption = DEFAULT_NAMESPACE,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Only entities matching this text.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows per table at most.")] = 50,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """A quick look at a namespace's graph: entities, observations and relations."""
    with _graph(db) as graph:
        try:
            data = graph.read_graph(namespace) if query is None else graph.search_nodes(query, namespace)
            counts = graph.counts(namespace)
        except GraphError as exc:
            fail(str(exc))
    if json_out:
        print_json(data.to_dict())
        return
    if data.entities:
        table = new_table("name", "type", "observations", title=f"entities in {namespace!r}", whole=("name",))
        for e in data.entities[:limit]:
            table.add_row(e.name, e.entity_type, "\n".join(e.observations))
        print_table(console, table)
    if data.relations:
        table = new_table("from", "relation", "to", title="relations", whole=("from", "to"))
        for r in data.relations[:limit]:
            table.add_row(r.from_entity, r.relation_type, r.to_entity)
        print_table(console, table)
    shown = "" if query is None else f"; {len(data.entities)} entities match {query!r}"
    more = max(len(data.entities), len(data.relations)) > limit
    console.print(
        f"namespace {namespace!r}: {counts['entities']} entities, {counts['observations']} observations, "
        f"{counts['relations']} relations{shown}" + (f" (tables cut at --limit {limit})" if more else ""),
        highlight=False,
        soft_wrap=True,
    )
