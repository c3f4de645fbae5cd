"""The ``memory-system`` command's entry point: says which extra to install when the server's
dependencies are missing (``pip install memory-system`` alone is the light HTTP client)."""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["main"]

SERVER_MODULES = ("fastapi", "uvicorn", "typer", "rich", "numpy", "prometheus_client")


def missing_server_modules() -> list[str]:
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def main() -> None:
    missing = missing_server_modules()
    if missing:
        print(
            f"error: the memory-system command runs the service and needs the 'server' extra "
            f"(missing: {', '.join(missing)}): pip install 'memory-system[server]'. "
            f"Without it this installation is the HTTP client only (memory_system.client).",
            file=sys.stderr,
        )
        raise SystemExit(1)
    from memory_system.cli import main as cli_main

    cli_main()
