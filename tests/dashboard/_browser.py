"""What the dashboard tests watch a page with, and where its screenshots go."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

DOCS = Path(__file__).resolve().parents[2] / "docs"


class Watched:
    """A page, with every request it made and every console error or uncaught exception it hit."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def script_errors(self) -> list[str]:
        """Errors other than an HTTP status the page expects and handles (a 401 at login, a 404
        from a route an older server lacks), which Chromium logs as "Failed to load resource"."""
        return [e for e in self.errors if not e.startswith("Failed to load resource")]

    def foreign(self, base_url: str) -> list[str]:
        """Requests to anywhere but the service (a CDN, a font host): there must be none."""
        return [url for url in self.requests if not url.startswith(base_url + "/")]


def screenshot(page: Page, name: str) -> None:
    """Write docs/<name> only when asked (MEMORY_SYSTEM_WRITE_SCREENSHOTS=1): CI leaves the tree clean."""
    if os.environ.get("MEMORY_SYSTEM_WRITE_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / name), full_page=True)
