"""``memory-system rollback b``: code rollback to an installed release (runbook option B)."""

from __future__ import annotations

from memory_system.cli._common import fail


def b() -> None:
    """Roll the code back to an earlier installed release."""
    fail("rollback b is being built")
