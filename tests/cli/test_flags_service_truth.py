"""``flags show``/``stats`` print what the running service evaluates, not this shell's environment.

The two scenarios of issue 11 ("Found" item 4), against ``memory-system serve`` as a real
subprocess: the CLI finds it through ``<db>.service.json``, which serve writes at start.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import ServedProcess

INJ = "USE_ENHANCED_INJECTION"
ADMIN = "flags-truth-admin-token-0123456789"
OPERATOR = {"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}


def _flags(cli: Any, served: ServedProcess, *args: str, **env: str) -> Any:
    return cli("flags", *args, "--db", str(served.db), env={**OPERATOR, **env}, check=True)


def _a_session(served: ServedProcess) -> None:
    assert httpx.post(served.url + "/v1/sessions", json={}, timeout=10).status_code in (200, 201)


def test_a_service_started_with_the_flag_off_is_shown_off(
    cli: Any, serve_process: Callable[..., ServedProcess]
) -> None:
    served = serve_process(env={INJ: "false", **OPERATOR}, dev=True)
    _a_session(served)

    shown = json.loads(_flags(cli, served, "show", "--json").stdout)
    assert shown["evaluated_by"] == "service" and shown["service"]["url"] == served.url
    assert shown["flags"][INJ]["effective"] == 0.0 and shown["flags"][INJ]["sources"]["env"] == 0.0
    assert shown["this_shell"] == {} and shown["warnings"] == []
    text = _flags(cli, served, "show").stdout
    (row,) = [line for line in text.splitlines() if INJ in line]
    assert "off" in row and f"as the service at {served.url}" in text

    stats = json.loads(_flags(cli, served, "stats", "--json").stdout)
    assert stats["evaluated_by"] == "service"
    assert stats["flags"][INJ]["active_sessions"] >= 1
    assert stats["flags"][INJ]["enabled_sessions"] == 0 and stats["flags"][INJ]["percent_enabled"] == 0
    assert stats["flags"]["USE_HIERARCHICAL_TIERS"]["enabled_sessions"] >= 1


def test_this_shells_flag_is_shown_apart_with_a_warning(
    cli: Any, serve_process: Callable[..., ServedProcess]
) -> None:
    served = serve_process(env=OPERATOR, dev=True)
    _a_session(served)

    proc = _flags(cli, served, "show", **{INJ: "false"})
    (row,) = [line for line in proc.stdout.splitlines() if INJ in line]
    assert "on" in row and "false" in row  # effective on (service), "false" only in the "this shell" column
    assert "this shell" in proc.stdout
    assert f"this shell's {INJ}=false does not reach the running service" in proc.stderr
    shown = json.loads(_flags(cli, served, "show", "--json", **{INJ: "false"}).stdout)
    assert shown["flags"][INJ]["effective"] == 1.0 and shown["flags"][INJ]["sources"]["env"] is None
    assert shown["this_shell"] == {INJ: {"raw": "false", "value": 0.0}}

    stats = _flags(cli, served, "stats", "--json", **{INJ: "false"})
    assert json.loads(stats.stdout)["flags"][INJ]["enabled_sessions"] >= 1
    assert f"this shell's {INJ}=false does not reach the running service" in stats.stderr


def test_set_and_rollback_wait_until_the_service_reports_the_new_value(
    cli: Any, serve_process: Callable[..., ServedProcess]
) -> None:
    served = serve_process(env={"USE_HIERARCHICAL_TIERS": "false", **OPERATOR})
    proc = _flags(cli, served, "rollback", "--actor", "oncall")
    for name in (INJ, "USE_CROSS_AGENT_SHARING", "USE_HIERARCHICAL_TIERS"):
        assert f"service confirms: {name} = off" in proc.stdout
    shown = json.loads(_flags(cli, served, "show", "--json").stdout)
    assert {info["effective"] for info in shown["flags"].values()} == {0.0}

    proc = _flags(cli, served, "set", "USE_HIERARCHICAL_TIERS", "true", "--json")
    out = json.loads(proc.stdout)
    assert out["service"]["confirmed"] and out["service"]["effective"] == {"USE_HIERARCHICAL_TIERS": 0.0}
    assert "service confirms: USE_HIERARCHICAL_TIERS = off (its env or config file holds it" in proc.stderr


def test_without_the_admin_token_it_says_what_to_do_and_changes_nothing(
    cli: Any, serve_process: Callable[..., ServedProcess]
) -> None:
    served = serve_process(env=OPERATOR)
    proc = cli("flags", "show", "--db", str(served.db), env={"MEMORY_SYSTEM_ADMIN_TOKEN": ""})
    assert proc.returncode == 1
    assert (
        "refused to show its flags (HTTP 401)" in proc.stderr and "MEMORY_SYSTEM_ADMIN_TOKEN" in proc.stderr
    )
    wrong = cli("flags", "stats", "--db", str(served.db), env={"MEMORY_SYSTEM_ADMIN_TOKEN": "x" * 32})
    assert wrong.returncode == 1 and "check the token" in wrong.stderr
    bad_url = cli("flags", "show", "--db", str(served.db), "--url", "localhost:1")
    assert bad_url.returncode == 1 and "not an http(s) URL" in bad_url.stderr
