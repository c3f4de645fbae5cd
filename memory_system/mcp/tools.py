"""One builder for an advertised tool, so the graph and memory tools describe themselves alike.

The hints are what an MCP client shows a model before it calls: whether the tool only reads,
may destroy, or may be repeated safely. None of the tools reach outside the service.
"""

from __future__ import annotations

from typing import Any

from mcp import types

__all__ = ["annotated_tool"]


def annotated_tool(
    name: str,
    title: str,
    description: str,
    input_schema: dict[str, Any],
    *,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    output_schema: dict[str, Any] | None = None,
) -> types.Tool:
    return types.Tool(
        name=name,
        title=title,
        description=description,
        input_schema=input_schema,
        output_schema=output_schema,
        annotations=types.ToolAnnotations(
            title=title,
            read_only_hint=read_only,
            destructive_hint=destructive,
            idempotent_hint=idempotent,
            open_world_hint=False,
        ),
    )
