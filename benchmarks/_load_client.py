"""The load generator's HTTP client: keep-alive HTTP/1.1 over asyncio streams, one pool per process.

Why not httpx's async client: on these two cores it spends ~2 ms of Python per request
(benchmarks/injection.py measured it), which an open-loop generator at a few hundred requests
a second cannot afford and which would be counted as server latency. This client writes the
request line and headers by hand and reads a ``Content-Length`` answer (all the service
sends for the routes the load uses), a few microseconds per request.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

__all__ = ["Pool", "TransportFailure"]

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class TransportFailure(Exception):
    """The request got no HTTP answer: refused, reset, or a malformed status line."""


class Pool:
    """Idle keep-alive connections to one host; a new one is opened whenever none is idle, so
    concurrency is never capped here (the generator caps it, and counts what it drops)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []

    async def post(
        self, path: str, payload: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """(status, body) of ``POST path``; raises ``TransportFailure`` when no answer came."""
        body = b"" if payload is None else json.dumps(payload).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n"
        ).encode() + body
        while self.idle:  # a kept-alive connection the server may have closed meanwhile (idle timeout)
            conn = self.idle.pop()
            try:
                return await self._send(conn, request)
            except TransportFailure:
                continue
        try:
            conn = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise TransportFailure(f"connect: {exc}") from exc
        return await self._send(conn, request)

    async def _send(self, conn: Connection, request: bytes) -> tuple[int, bytes]:
        reader, writer = conn
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.split()
            if len(parts) < 2:
                raise TransportFailure(f"no status line (got {status_line[:40]!r})")
            status = int(parts[1])
            length, keep = 0, True
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    keep = False
            data = await reader.readexactly(length)
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            writer.close()
            raise TransportFailure(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:  # cancelled by the request's timeout: this connection is mid-answer
            writer.close()
            raise
        if keep:
            self.idle.append(conn)
        else:
            writer.close()
        return status, data

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()
