"""docs/http-api.md lists every route the app serves, no route it does not, and the auth each
route really asks for (read from the route's dependencies)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memory_system.api.app import ROUTERS
from memory_system.api.deps import agent_identity, require_admin

DOC = (Path(__file__).resolve().parents[2] / "docs" / "http-api.md").read_text()


def _calls(dependant: Any) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    for dependency in dependant.dependencies:
        found |= {dependency.call, *_calls(dependency)}
    return found


def _served() -> dict[tuple[str, str], str]:
    routes = {}
    for module in ROUTERS:
        for route in module.router.routes:
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {name:path} is written {name}
            calls = _calls(route.dependant)
            auth = "admin" if require_admin in calls else "agent" if agent_identity in calls else "none"
            routes |= {(method, path): auth for method in route.methods - {"HEAD"}}
    return routes


def _documented() -> dict[tuple[str, str], str]:
    table = DOC.split("## Routes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z]+)` \| `([^`]+)` \| (\w+) \|", table, re.MULTILINE)
    assert len(rows) == len({(m, p) for m, p, _ in rows}), "a route is listed twice"
    return {(method, path): auth for method, path, auth in rows}


def test_the_scan_finds_the_routes_we_know_exist() -> None:
    served = _served()
    assert served[("POST", "/v1/inject")] == "agent"
    assert served[("GET", "/admin/feature-flags")] == "admin"
    assert served[("GET", "/metrics")] == "none"
    assert ("GET", "/v1/entities/{name}") in served


def test_every_route_is_in_the_table_and_every_row_is_a_route() -> None:
    documented, served = _documented(), _served()
    assert sorted(set(served) - set(documented)) == [], "routes the doc does not list"
    assert sorted(set(documented) - set(served)) == [], "rows for routes the app does not serve"


def test_each_row_names_the_auth_the_route_asks_for() -> None:
    documented, served = _documented(), _served()
    assert {r: (a, served[r]) for r, a in documented.items() if r in served and served[r] != a} == {}
