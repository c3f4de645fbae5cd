"""Headless Chromium for the dashboard tests: Debian's ``chromium`` (``.ci/run`` installs it),
driven by Playwright for Python with ``executable_path``, so Playwright never downloads a
browser. Without chromium a test skips and says why, unless ``CI`` is set: in CI a missing
browser is a failure, not a silent gap (as ``tests/deploy`` does for promtool)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.dashboard._browser import Watched

CHROMIUM = "/usr/bin/chromium"
# No network, no background services: the only requests are the pages' own, to the service.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        message = "Debian's chromium is missing: apt-get install chromium chromium-driver (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for a test module (a launch costs about a second; gone before other
    modules run, so Playwright's event loop never meets theirs); each test has its own page."""
    path = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield Watched(context.new_page())
    context.close()
