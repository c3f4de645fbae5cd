"""The OpenAPI document is the contract: schemathesis against a live ``memory-system serve``.

A real subprocess on a fresh database, with an agent token (``tokens create``) and the admin
token (``MEMORY_SYSTEM_ADMIN_TOKEN``); ``schemathesis.toml`` beside this file says what runs:
one seed, every phase, every operation, and the checks that fail on a 5xx, on a status the
document does not list for the operation, and on a body or media type it does not describe:
every success body against its model (``api/responses``), every error body against
``ErrorBody``. About 100 s on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

CONFIG = Path(__file__).with_name("schemathesis.toml")
ADMIN_TOKEN = "contract-admin-token-0123456789"


def test_the_run_checks_every_body_against_its_schema() -> None:
    """The checks the contract rests on stay on, whatever else the config file changes."""
    config = tomllib.loads(CONFIG.read_text())
    checks = {
        name for name, value in config["checks"].items() if isinstance(value, dict) and value["enabled"]
    }
    assert {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    } <= checks
    assert "exclude-path-regex" not in repr(config)  # no operation is left out


@pytest.mark.timeout(900)
def test_the_live_service_answers_as_its_openapi_document_says(
    serve_process: Any, cli: Any, tmp_path: Path
) -> None:
    db = tmp_path / "contract" / "memory.db"
    cli("db", "migrate", "--db", str(db), check=True)
    created = cli(
        "tokens",
        "create",
        "--agent",
        "contract-agent",
        "--namespace",
        "contract",
        "--db",
        str(db),
        "--json",
        check=True,
    )
    agent_token = json.loads(created.stdout)["token"]
    served = serve_process(db=db, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN_TOKEN})

    env = {**os.environ, "CONTRACT_AGENT_TOKEN": agent_token, "CONTRACT_ADMIN_TOKEN": ADMIN_TOKEN}
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{served.url}/openapi.json",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # its example database and cache stay out of the checkout
        timeout=840,
    )
    report = run.stdout[-20_000:] + run.stderr[-5_000:]
    assert run.returncode == 0, report
    assert " passed" in report and "generated" in report, report
