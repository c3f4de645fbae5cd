"""The operator dashboards: plain HTML, CSS and one small script a page, served by
``api/dashboard.py`` at ``/dashboard``. No Python runs here; this package only carries the
files (a wheel ships them as package data) and says where they are.

- ``index.html``: the login form (the admin token, kept in sessionStorage for the tab).
- ``ops.html``: Real-Time Operations, from ``/admin/overview``, ``/health/deep``.
- ``flags.html``: Feature Flags, from ``/admin/feature-flags`` (+ ``/stats``, ``/events``).
- ``vendor/``: uPlot, vendored from npm at a pinned version with its licence (no CDN).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PAGES", "UPLOT_VERSION"]

PAGES = Path(__file__).resolve().parent
# The npm release vendored under vendor/ (uPlot.iife.min.js, uPlot.min.css, LICENSE).
UPLOT_VERSION = "1.6.32"
