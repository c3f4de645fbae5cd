"""Both dashboards in headless Chromium against a real ``memory-system serve``: the login form
keeps a good token and refuses a wrong one, the operations page moves with real traffic and
shows an alert that real memory pressure fires, and a flag turned off through the flags page
(after its confirmation) reaches 0% of active sessions. Nothing leaves 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.dashboard._browser import Watched, screenshot

ADMIN = "dashboard-admin-token-0123456789"
ENHANCED = "USE_ENHANCED_INJECTION"
# Alerts evaluated 4 times a second so the charts get points in a test's time; a 1 MB memory
# limit makes memory_critical fire at once (the guard is off so the flags stay on for the
# flags page: with it on, that alert would turn every flag off). Shadow mode samples every
# legacy answer, so the flags page has shadow numbers once a flag is off.
CONFIG = {
    "memoryLimitMb": 1,
    "alerts": {"evaluateEverySeconds": 0.25, "guard": False},
    "injection": {"shadow_sample": 1.0},
}
EVERY = "?every=0.5"


def _serve(serve_process: Callable[..., Any]) -> str:
    served = serve_process(config=CONFIG, env={"MEMORY_SYSTEM_ADMIN_TOKEN": ADMIN}, dev=True)
    return str(served.url)


def _log_in(page: Page, url: str, token: str, next_page: str = "ops.html") -> None:
    page.goto(f"{url}/dashboard/?next={next_page}{EVERY.replace('?', '%3F')}")
    page.fill("#token", token)
    page.click("#sign-in")


def _traffic(url: str, sessions: int = 4, rounds: int = 3) -> list[str]:
    """Sessions that write memories and ask for injections, as agents do (``--dev``: no tokens)."""
    ids = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for n in range(sessions):
            agent = {"X-Agent-Id": f"agent-{n}"}
            session = client.post("/v1/sessions", headers=agent)
            assert session.status_code == 201, session.text
            ids.append(session.json()["session_id"])
            for i in range(rounds):
                memory = {"content": f"deploy note {n}.{i}: staging runs Postgres 16", "kind": "fact"}
                assert client.post("/v1/memories", json=memory, headers=agent).status_code in (200, 201)
                asked = client.post(
                    "/v1/inject",
                    json={"query": "how is staging deployed?", "session_id": ids[-1]},
                    headers=agent,
                )
                assert asked.status_code == 200, asked.text
    return ids


def _number(page: Page, selector: str) -> float:
    found = re.search(r"-?\d+(\.\d+)?", page.inner_text(selector))
    assert found, f"{selector} shows no number: {page.inner_text(selector)!r}"
    return float(found.group())


def test_the_login_form_refuses_a_wrong_token_and_keeps_the_right_one(
    serve_process: Callable[..., Any], watched: Watched
) -> None:
    url, page = _serve(serve_process), watched.page
    page.goto(f"{url}/dashboard/ops.html")  # no token yet: back to the form
    expect(page).to_have_url(re.compile(r"/dashboard/\?next=ops\.html"))

    _log_in(page, url, "not-the-admin-token-at-all")
    expect(page.locator("#login-error")).to_contain_text("refused (401)")
    assert page.evaluate("sessionStorage.length") == 0

    _log_in(page, url, ADMIN)
    expect(page).to_have_url(re.compile(r"/dashboard/ops\.html"))
    expect(page.locator("#status")).to_contain_text("updated")
    assert page.evaluate("Object.values(sessionStorage)") == [ADMIN]

    # A token the server no longer takes (here: overwritten) sends the page back to the form.
    page.evaluate("sessionStorage.setItem('memory-system.admin-token', 'stale-token-xxxxxxxxxxxx')")
    page.goto(f"{url}/dashboard/flags.html")
    expect(page.locator("#login-error")).to_contain_text("the admin token was refused")
    assert watched.foreign(url) == [] and watched.script_errors() == []


def test_the_ops_page_moves_with_real_traffic_and_shows_the_firing_alert(
    serve_process: Callable[..., Any], watched: Watched
) -> None:
    url, page = _serve(serve_process), watched.page
    _log_in(page, url, ADMIN)
    expect(page.locator("#alerts [data-rule='memory_critical']")).to_contain_text("CRITICAL")
    expect(page.locator("#health [data-check='database_write']")).to_contain_text("ok")
    expect(page.locator("#injections-total")).to_have_text("0")
    expect(page.locator("#p95")).to_have_text("no injections")

    _traffic(url)
    expect(page.locator("#injections-total")).to_have_text("12", timeout=15_000)
    expect(page.locator("#p95")).to_have_text(re.compile(r"^\d+(\.\d)? ms$"))
    assert _number(page, "#injections-rate") > 0
    first = _number(page, "#injections-total")
    _traffic(url, sessions=1, rounds=2)
    expect(page.locator("#injections-total")).to_have_text(str(int(first) + 2), timeout=15_000)

    # The latency chart holds samples with p95 values (a ring buffer of evaluations).
    chart = page.locator("#latency-chart .uplot")
    expect(chart).to_have_attribute("data-points", re.compile(r"^([3-9]|\d\d+)$"))
    p95_column = page.evaluate("() => window.opsRings.latency.columns[2]")
    assert any(isinstance(v, float | int) and v > 0 for v in p95_column), p95_column
    assert "MB" in page.inner_text("#memory") and "%" in page.inner_text("#memory")
    screenshot(page, "dashboard-ops.png")
    assert watched.foreign(url) == [] and watched.script_errors() == []


def test_a_flag_turned_off_in_the_flags_page_reaches_zero_percent_of_sessions(
    serve_process: Callable[..., Any], watched: Watched
) -> None:
    url, page = _serve(serve_process), watched.page
    sessions = _traffic(url, sessions=3, rounds=1)
    _log_in(page, url, ADMIN, next_page="flags.html")
    row = page.locator(f"tr[data-flag='{ENHANCED}']")
    expect(row.locator(".enabled")).to_have_text(f"{len(sessions)} of {len(sessions)}")
    expect(row.locator(".percent")).to_have_text("100%")

    # Cancel changes nothing; confirm turns the flag off.
    row.locator("button[data-action='off']").click()
    expect(page.locator("#confirm .message")).to_contain_text(f"Turn {ENHANCED} off")
    page.click("#confirm-no")
    expect(page.locator("#confirm")).not_to_be_visible()
    assert _effective(url)[ENHANCED] == 1.0

    row.locator("button[data-action='off']").click()
    page.click("#confirm-yes")
    expect(row.locator(".percent")).to_have_text("0%", timeout=30_000)
    expect(row.locator(".enabled")).to_have_attribute("data-count", "0", timeout=30_000)
    expect(row.locator(".database")).to_have_text("off")
    expect(row.locator(".effective")).to_have_text("off")
    first_event = page.locator("#events tr").first
    expect(first_event).to_contain_text(ENHANCED)
    expect(first_event).to_contain_text("dashboard")
    assert _effective(url) == {"USE_HIERARCHICAL_TIERS": 1.0, "USE_CROSS_AGENT_SHARING": 1.0, ENHANCED: 0.0}

    # Shadow mode (every legacy answer also built enhanced): legacy injections now, so runs.
    _traffic(url, sessions=1, rounds=2)
    expect(page.locator("[data-shadow='sample_rate'] .value")).to_have_text("100%")
    expect(page.locator("[data-shadow='runs'] .value")).not_to_have_text("0", timeout=15_000)
    expect(page.locator("[data-shadow='legacy'] .value")).to_have_text(re.compile(r"^\d+\.\d / \d+\.\d ms$"))
    expect(row.locator(".enabled")).to_have_text(f"0 of {len(sessions) + 1}")
    screenshot(page, "dashboard-flags.png")

    # A fraction, then the roll-back of all three, each through its confirmation.
    tiers = page.locator("tr[data-flag='USE_HIERARCHICAL_TIERS']")
    tiers.locator("input.fraction").fill("0.25")
    tiers.locator("button[data-action='fraction']").click()
    expect(page.locator("#confirm .message")).to_contain_text("25% of sessions")
    page.click("#confirm-yes")
    expect(tiers.locator(".database")).to_have_text("25%")
    assert _effective(url)["USE_HIERARCHICAL_TIERS"] == 0.25

    page.click("#rollback")
    expect(page.locator("#confirm .message")).to_contain_text("ALL flags off")
    page.click("#confirm-yes")
    expect(page.locator("#flags .effective")).to_have_text(["off", "off", "off"])
    assert set(_effective(url).values()) == {0.0}
    assert watched.foreign(url) == [] and watched.script_errors() == []


def _effective(url: str) -> dict[str, float]:
    body = httpx.get(url + "/admin/feature-flags", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)
    return {name: row["effective"] for name, row in body.json()["flags"].items()}


def test_only_the_page_files_are_served_and_the_pages_hold_no_data(serve_process: Callable[..., Any]) -> None:
    url = _serve(serve_process)
    with httpx.Client(base_url=url, timeout=30) as client:
        root = client.get("/dashboard")
        assert (root.status_code, root.headers["location"]) == (307, "/dashboard/")
        login = client.get("/dashboard/")
        assert login.status_code == 200 and 'id="token"' in login.text
        assert "default-src 'self'" in login.headers["content-security-policy"]
        for page in ("ops.html", "flags.html", "common.js", "vendor/uPlot.iife.min.js"):
            assert client.get(f"/dashboard/{page}").status_code == 200, page
        for path in ("__init__.py", "%2e%2e/pyproject.toml", "vendor/LICENSE", "nothing.html"):
            answer = client.get(f"/dashboard/{path}")
            assert answer.status_code == 404, path
            assert "the pages are index.html, ops.html and flags.html" in answer.json()["message"]
        # The data behind the pages needs the admin token.
        assert client.get("/admin/overview").status_code == 401
