"""Errors the storage layer raises; each message says what went wrong and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be opened, migrated or used as asked."""


class MigrationError(StoreError):
    """A migration is missing, changed after it was applied, or failed to apply."""
