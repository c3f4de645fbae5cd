"""``memory-system mcp``: the entity and memory tools as an MCP stdio server (graph tools drop-in
for the reference server), acting as one agent (``--agent``) in one namespace (``--namespace``)."""

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
        str,
        typer.Option(
            "--namespace",
            "-n",
            envvar="MEMORY_SYSTEM_NAMESPACE",
            help="Project namespace whose graph and memories the tools read and write.",
        ),
    ] = DEFAULT_NAMESPACE,
    agent: Annotated[
        str,
        typer.Option(
            "--agent", "-a", envvar="MEMORY_SYSTEM_AGENT_ID", help="Agent id the memory tools act as."
        ),
    ] = "mcp",
    no_migrate: Annotated[
        bool, typer.Option("--no-migrate", help="Do not apply pending migrations on start.")
    ] = False,
) -> None:
    """Serve the knowledge-graph and memory tools (create_entities, remember, recall, ...) over MCP on
    stdin/stdout."""
    if importlib.util.find_spec("mcp") is None:
        fail("the MCP server needs the 'mcp' extra: pip install 'memory-system[server,mcp]'")
    path = db_path(db)
    try:
        check_namespace(namespace)
    except GraphError as exc:
        fail(f"--{exc}")
    try:
        # As serve: a database rolled back on purpose (option C) stays in legacy mode.
        if not no_migrate:
            schema.migrate(path, skip=schema.rolled_back_on_purpose(path))
        runtime = open_runtime(path)
    except StoreError as exc:
        fail(str(exc))
    try:
        if runtime.schema_version() < 1:
            fail(f"{path} has no entity tables yet; run 'memory-system db migrate --db {path}' first")
        from memory_system.mcp.memory_tools import Caller
        from memory_system.mcp.server import serve_stdio

        serve_stdio(runtime, Caller(agent_id=agent, namespace=namespace))
    finally:
        runtime.close()
