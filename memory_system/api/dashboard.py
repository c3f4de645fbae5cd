"""``/dashboard``: the two operator pages (``memory_system/dashboard/``) as static files.

The pages hold no data, so they are public; every number they show comes from an admin
route called with the token the login form keeps in sessionStorage. Explicit routes (not a
``StaticFiles`` mount) keep the route table of docs/http-api.md exact, and serve only the
page files: nothing else of the package (no ``.py``) is reachable. The Content-Security-Policy
lets a page load from this origin only, so a stray CDN reference fails loudly in the browser
tests instead of working on a developer's machine and not on an air-gapped one.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

from memory_system.dashboard import PAGES

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

_SERVED = {".html", ".js", ".css"}
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


@router.get("", include_in_schema=False)
def dashboard_root() -> RedirectResponse:
    """``/dashboard`` -> ``/dashboard/``, so the pages' relative links resolve."""
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/{file_path:path}", include_in_schema=False)
def dashboard_file(file_path: str) -> FileResponse:
    """A page file; the empty path is the login page (``index.html``)."""
    target = _resolve(file_path or "index.html")
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(target, media_type=media_type, headers=_HEADERS)


def _resolve(file_path: str) -> Path:
    root = PAGES.resolve()
    target = (root / file_path).resolve()
    if not target.is_relative_to(root) or target.suffix not in _SERVED or not target.is_file():
        raise HTTPException(
            404, f"no dashboard file {file_path!r}: the pages are index.html, ops.html and flags.html"
        )
    return target
