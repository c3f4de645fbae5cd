"""The client imports nothing of the service: a user with only the client installed can use it."""

from __future__ import annotations

import json
import subprocess
import sys


def test_importing_the_client_loads_no_server_dependency() -> None:
    code = (
        "import sys, json, memory_system.client;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn', 'sqlite3', 'pysqlite3', 'numpy', 'typer') "
        "or m.startswith('memory_system.') and not m.startswith('memory_system.client'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []
