"""``memory-system mcp``: the entity tools as an MCP stdio server (drop-in for the reference server)."""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from memory_system.cli._common import DbOption, db_path, fail
from memory_system.core.errors import StoreError
from memory_system.memory.graph.entities import DEFAULT_NAMESPACE, GraphError, check_namespace
from memory_system.ops import schema
from memory_system.runtime import open_runtime


def mcp(
    db: DbOption = None,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Project namespace whose graph the tools read and write.")
    ] = DEFAULT_NAMESPACE,
    no_migrate: Annotated[
        bool, typer.Option("--no-migrate", help="Do not apply pending migrations on start.")
    ] = False,
) -> None:
    """Serve the knowledge-graph tools (create_entities, search_nodes, ...) over MCP on stdin/stdout."""
    if importlib.util.find_spec("mcp") is None:
        fail("the MCP server needs the 'mcp' extra: pip install 'memory-system[mcp]'")
    path = db_path(db)
    try:
        check_namespace(namespace)
    except GraphError as exc:
        fail(f"--{exc}")
    try:
        if not no_migrate:
            schema.migrate(path)
        runtime = open_runtime(path)
    except StoreError as exc:
        fail(str(exc))
    try:
        if runtime.schema_version() < 1:
            fail(f"{path} has no entity tables yet; run 'memory-system db migrate --db {path}' first")
        from memory_system.mcp.server import serve_stdio

        serve_stdio(runtime.graph, namespace)
    finally:
        runtime.close()
