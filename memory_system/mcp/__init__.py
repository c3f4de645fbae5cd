"""The MCP interface: the knowledge-graph tools over stdio, drop-in for the reference memory server."""
