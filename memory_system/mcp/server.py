"""The MCP server: entity tools drop-in compatible with the reference server, and memory tools.

Tool names, input schemas, output schemas and result shapes follow the reference MCP
"memory" server (modelcontextprotocol/servers ``src/memory``), so an agent configured for
it can point at ``memory-system mcp --db PATH`` instead and keep working. The graph lives in
SQLite under the caller's namespace; semantics are ``KnowledgeGraph``'s. The memory tools
(``mcp/memory_tools``) sit beside them; ``mcp/http`` serves the same server at ``/mcp``.

Arguments are checked against the tool's input schema before anything runs; a bad call or
a refused one (unknown entity, empty name, too many items) is a tool result with
``isError`` and a message naming the field, and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import mcp_types as types
from jsonschema import Draft7Validator
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from memory_system import __version__
from memory_system.mcp.memory_tools import Caller, MemoryTools, memory_tool_definitions
from memory_system.mcp.tools import annotated_tool
from memory_system.memory.graph.entities import (
    DEFAULT_NAMESPACE,
    Entity,
    GraphError,
    KnowledgeGraph,
    ObservationSet,
    Relation,
)
from memory_system.runtime import Runtime

GRAPH_URI = "memory://knowledge-graph"  # the reference server's resource: the whole graph as JSON

_ENTITY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "The name of the entity"},
        "entityType": {"type": "string", "description": "The type of the entity"},
        "observations": {
            "type": "array",
            "items": {"type": "string"},
            "description": "An array of observation contents associated with the entity",
        },
    },
    "required": ["name", "entityType", "observations"],
    "additionalProperties": False,
}
_RELATION = {
    "type": "object",
    "properties": {
        "from": {"type": "string", "description": "The name of the entity where the relation starts"},
        "to": {"type": "string", "description": "The name of the entity where the relation ends"},
        "relationType": {"type": "string", "description": "The type of the relation"},
    },
    "required": ["from", "to", "relationType"],
    "additionalProperties": False,
}
_GRAPH_OUT = {
    "entities": {"type": "array", "items": _ENTITY},
    "relations": {"type": "array", "items": _RELATION},
}
_DONE_OUT = {"success": {"type": "boolean"}, "message": {"type": "string"}}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _array(items: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items}
    if description:
        schema["description"] = description
    return schema


_STRING = {"type": "string"}

# name: (title, description, input properties, output properties, read-only, destructive, idempotent)
_TOOLS: dict[str, tuple[str, str, dict[str, Any], dict[str, Any], bool, bool, bool]] = {
    "create_entities": (
        "Create Entities",
        "Create multiple new entities in the knowledge graph",
        {"entities": _array(_ENTITY)},
        {"entities": _array(_ENTITY)},
        False,
        False,
        False,
    ),
    "create_relations": (
        "Create Relations",
        "Create multiple new relations between entities in the knowledge graph. Relations should be in "
        "active voice",
        {"relations": _array(_RELATION)},
        {"relations": _array(_RELATION)},
        False,
        False,
        False,
    ),
    "add_observations": (
        "Add Observations",
        "Add new observations to existing entities in the knowledge graph",
        {
            "observations": _array(
                _object(
                    {
                        "entityName": {
                            "type": "string",
                            "description": "The name of the entity to add the observations to",
                        },
                        "contents": _array(_STRING, "An array of observation contents to add"),
                    }
                )
            )
        },
        {"results": _array(_object({"entityName": _STRING, "addedObservations": _array(_STRING)}))},
        False,
        False,
        False,
    ),
    "delete_entities": (
        "Delete Entities",
        "Delete multiple entities and their associated relations from the knowledge graph",
        {"entityNames": _array(_STRING, "An array of entity names to delete")},
        _DONE_OUT,
        False,
        True,
        True,
    ),
    "delete_observations": (
        "Delete Observations",
        "Delete specific observations from entities in the knowledge graph",
        {
            "deletions": _array(
                _object(
                    {
                        "entityName": {
                            "type": "string",
                            "description": "The name of the entity containing the observations",
                        },
                        "observations": _array(_STRING, "An array of observations to delete"),
                    }
                )
            )
        },
        _DONE_OUT,
        False,
        True,
        True,
    ),
    "delete_relations": (
        "Delete Relations",
        "Delete multiple relations from the knowledge graph",
        {"relations": _array(_RELATION, "An array of relations to delete")},
        _DONE_OUT,
        False,
        True,
        True,
    ),
    "read_graph": ("Read Graph", "Read the entire knowledge graph", {}, _GRAPH_OUT, True, False, True),
    "search_nodes": (
        "Search Nodes",
        "Search for nodes in the knowledge graph based on a query",
        {
            "query": {
                "type": "string",
                "description": (
                    "The search query to match against entity names, types, and observation content"
                ),
            }
        },
        _GRAPH_OUT,
        True,
        False,
        True,
    ),
    "open_nodes": (
        "Open Nodes",
        "Open specific nodes in the knowledge graph by their names",
        {"names": _array(_STRING, "An array of entity names to retrieve")},
        _GRAPH_OUT,
        True,
        False,
        True,
    ),
}


def tool_definitions() -> list[types.Tool]:
    return [
        annotated_tool(
            name,
            title,
            description,
            _object(inputs),
            output_schema=_object(outputs),
            read_only=read_only,
            destructive=destructive,
            idempotent=idempotent,
        )
        for name, (title, description, inputs, outputs, read_only, destructive, idempotent) in _TOOLS.items()
    ]


_VALIDATORS = {name: Draft7Validator(_object(spec[2])) for name, spec in _TOOLS.items()}


def _argument_error(name: str, arguments: dict[str, Any]) -> str | None:
    errors = sorted(_VALIDATORS[name].iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    first = errors[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path).lstrip(".")
    return f"invalid arguments for {name}: {where or 'arguments'}: {first.message}"


def _done(message: str) -> tuple[str, dict[str, Any]]:
    return message, {"success": True, "message": message}


def _as_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


class GraphTools:
    """The nine tools over one namespace of a ``KnowledgeGraph``: plain calls, no transport."""

    def __init__(self, graph: KnowledgeGraph, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.graph = graph
        self.namespace = namespace
        self._handlers: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {
            "create_entities": self._create_entities,
            "create_relations": self._create_relations,
            "add_observations": self._add_observations,
            "delete_entities": self._delete_entities,
            "delete_observations": self._delete_observations,
            "delete_relations": self._delete_relations,
            "read_graph": self._read_graph,
            "search_nodes": self._search_nodes,
            "open_nodes": self._open_nodes,
        }

    def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        handler = self._handlers.get(name)
        if handler is None:
            return _error(f"unknown tool {name!r}; the tools are {', '.join(self._handlers)}")
        arguments = arguments or {}
        problem = _argument_error(name, arguments)
        if problem:
            return _error(problem)
        try:
            text, structured = handler(arguments)
        except GraphError as exc:
            return _error(f"{name} refused, nothing changed: {exc}")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], structured_content=structured
        )

    def _create_entities(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        created = self.graph.create_entities(
            [Entity(e["name"], e["entityType"], tuple(e["observations"])) for e in args["entities"]],
            self.namespace,
        )
        result = [e.to_dict() for e in created]
        return _as_json(result), {"entities": result}

    def _create_relations(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        created = self.graph.create_relations(_relations(args["relations"]), self.namespace)
        result = [r.to_dict() for r in created]
        return _as_json(result), {"relations": result}

    def _add_observations(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        added = self.graph.add_observations(
            [ObservationSet(o["entityName"], tuple(o["contents"])) for o in args["observations"]],
            self.namespace,
        )
        result = [{"entityName": a.entity_name, "addedObservations": list(a.contents)} for a in added]
        return _as_json(result), {"results": result}

    def _delete_entities(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.graph.delete_entities(args["entityNames"], self.namespace)
        return _done("Entities deleted successfully")

    def _delete_observations(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.graph.delete_observations(
            [ObservationSet(d["entityName"], tuple(d["observations"])) for d in args["deletions"]],
            self.namespace,
        )
        return _done("Observations deleted successfully")

    def _delete_relations(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.graph.delete_relations(_relations(args["relations"]), self.namespace)
        return _done("Relations deleted successfully")

    def _read_graph(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = self.graph.read_graph(self.namespace).to_dict()
        return _as_json(data), data

    def _search_nodes(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = self.graph.search_nodes(args["query"], self.namespace).to_dict()
        return _as_json(data), data

    def _open_nodes(self, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = self.graph.open_nodes(args["names"], self.namespace).to_dict()
        return _as_json(data), data


def _relations(items: list[dict[str, Any]]) -> list[Relation]:
    return [Relation(r["from"], r["to"], r["relationType"]) for r in items]


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


CallerOf = Callable[[Any], Caller]
"""Who a request acts as, from its handler context (stdio: fixed; HTTP: the request's token)."""


def build_server(runtime: Runtime, caller_of: CallerOf) -> Server[Any]:
    """A low-level MCP server, so that the schemas are exactly the reference's, not generated."""
    memory = MemoryTools(runtime)

    def call(caller: Caller, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        if name in memory:
            return memory.call(caller, name, arguments)
        return GraphTools(runtime.graph, caller.namespace).call(name, arguments)

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tool_definitions() + memory_tool_definitions())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        # SQLite calls block; a worker thread keeps the protocol loop answering pings meanwhile.
        return await anyio.to_thread.run_sync(call, caller_of(ctx), params.name, params.arguments)

    async def list_resources(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    name="knowledge-graph",
                    title="Knowledge Graph",
                    uri=GRAPH_URI,
                    mime_type="application/json",
                    description="The full knowledge graph with all entities and relations",
                )
            ]
        )

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        if str(params.uri) != GRAPH_URI:
            raise MCPError(
                types.INVALID_PARAMS, f"unknown resource {params.uri}; the one resource is {GRAPH_URI}"
            )
        namespace = caller_of(ctx).namespace
        graph = await anyio.to_thread.run_sync(runtime.graph.read_graph, namespace)
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(
                    uri=GRAPH_URI,
                    mime_type="application/json",
                    text=_as_json(graph.to_dict()),
                )
            ]
        )

    return Server(
        "memory-system",
        version=__version__,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


def serve_stdio(runtime: Runtime, caller: Caller) -> None:
    """Serve the graph and memory tools as ``caller`` on stdin/stdout until the client closes stdin."""
    server = build_server(runtime, lambda ctx: caller)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
