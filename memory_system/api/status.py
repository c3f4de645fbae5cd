"""``GET /status`` (a small HTML page) and ``GET /status.json``: the public status page the
runbook's "update status page" step points at. No auth, and no internals: the mode, a fixed
sentence for it, the open incidents' titles, severity and start, and when this was read.

Public and polled, so only cheap signals decide the mode (``ops.incidents.public_status``):
one primary-key read for legacy mode, the alert engine's last verdicts, whether a configured
embedder loaded. Nothing here runs a check of its own.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, JSONResponse

from memory_system.api.deps import get_runtime
from memory_system.api.error_body import responses
from memory_system.api.responses import answers
from memory_system.api.responses.status import PublicStatus
from memory_system.ops.incidents import public_status
from memory_system.runtime import Runtime

router = APIRouter(tags=["status"], responses=responses(500))

_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
_REFRESH_SECONDS = 30
_TITLES = {"normal": "Operational", "legacy": "Reduced service", "degraded": "Degraded"}


def _degraded(runtime: Runtime) -> bool:
    """A firing CRITICAL alert, or an embedder configured but not loaded. Only what is already
    built is asked: the page never starts the alert engine or loads a model."""
    built = vars(runtime)
    alerts = built.get("alerts")
    if alerts is not None and alerts.firing("CRITICAL"):
        return True
    retrieval = built.get("retrieval")
    return retrieval is not None and runtime.settings.embedder != "none" and retrieval.embedder is None


def _status(runtime: Runtime) -> dict[str, Any]:
    return public_status(runtime.db, legacy=runtime.phase_2_rolled_back, degraded=lambda: _degraded(runtime))


@router.get("/status.json", responses=answers(PublicStatus))
def status_json(runtime: Annotated[Runtime, Depends(get_runtime)]) -> JSONResponse:
    """The service's mode (normal, legacy, degraded) and its open incidents, for anyone."""
    return JSONResponse(_status(runtime), headers=_HEADERS)


@router.get("/status", response_class=HTMLResponse, include_in_schema=False)
def status_page(runtime: Annotated[Runtime, Depends(get_runtime)]) -> HTMLResponse:
    """The same as ``/status.json``, as a plain page that refreshes itself."""
    return HTMLResponse(render(_status(runtime)), headers=_HEADERS)


def render(status: dict[str, Any]) -> str:
    mode = status["mode"]
    if status["incidents"]:
        rows = "".join(
            f"<li><strong>{escape(i['severity'])}</strong> {escape(i['title'])} "
            f"<span class=t>since {escape(i['started_at'])}</span></li>"
            for i in status["incidents"]
        )
        incidents = f"<h2>Open incidents</h2><ul>{rows}</ul>"
    else:
        incidents = "<p>No open incidents.</p>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{_REFRESH_SECONDS}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Service status</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}"
        ".mode{padding:1rem;border-radius:.4rem;font-size:1.2rem}"
        ".normal{background:#e6f4ea}.legacy{background:#fff4e0}.degraded{background:#fde8e8}"
        ".t{color:#666;font-size:.9rem}"
        "</style></head><body><h1>Service status</h1>"
        f'<div class="mode {escape(mode)}" id=mode data-mode="{escape(mode)}">'
        f"<strong>{escape(_TITLES[mode])}</strong>: {escape(status['message'])}</div>"
        f"{incidents}"
        f"<p class=t>Updated {escape(status['updated_at'])} (UTC).</p>"
        "</body></html>"
    )
