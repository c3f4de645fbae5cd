"""Time as the database stores it: ISO 8601 UTC with milliseconds and a ``Z``.

One format everywhere (rows, API bodies, logs) so that timestamps compare as text, the way
SQLite's ``strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`` writes them.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_utc", "utc_now"]


def format_utc(moment: datetime) -> str:
    """``moment`` in UTC with milliseconds, sortable as text.

    The year is written with four digits by hand: glibc's ``%Y`` writes year 446 as ``446``,
    which is not ISO 8601 and sorts after ``2024``."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def utc_now() -> str:
    return format_utc(datetime.now(UTC))
