"""Scope filters of a search: kind, tier, session, user, time ranges and metadata, validated once.

``SearchFilters`` is the store's ``Filters`` value (``store/scope.py``) plus the validation of
what a caller asks for; only the store turns it into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from memory_system.memory.records.metadata_filter import check_metadata_filter
from memory_system.memory.records.models import (
    MemoryValidationError,
    _check_text_id,
    check_kind,
    check_tier,
    parse_timestamp,
)
from memory_system.store.scope import Filters

_TIMES = ("occurred_after", "occurred_before", "created_after", "created_before")


@dataclass(frozen=True, slots=True)
class SearchFilters(Filters):
    """The store's ``Filters`` as a caller asks for them: validated from a request body.

    Every field optional; times are ISO 8601 (after = inclusive, before = exclusive).
    ``tier`` is ignored while hierarchical tiers are off (all memories read as one flat tier).
    """

    @classmethod
    def from_dict(cls, data: Any) -> SearchFilters:
        """Validated filters from a request body; errors name ``filters.<field>``."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise MemoryValidationError("filters", 'must be a JSON object, e.g. {"kind": "fact"}')
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise MemoryValidationError(
                f"filters.{unknown[0]}", f"is not a filter; use {', '.join(cls.__dataclass_fields__)}"
            )
        clean: dict[str, Any] = {}
        try:
            for key, value in data.items():
                if value is None:
                    continue
                if key == "kind":
                    clean[key] = check_kind(value)
                elif key == "tier":
                    clean[key] = check_tier(value)
                elif key in ("session_id", "user_id"):
                    clean[key] = _check_text_id(value, key)
                elif key == "metadata":
                    clean[key] = check_metadata_filter(value, key)
                else:
                    clean[key] = parse_timestamp(value, key)
        except MemoryValidationError as exc:
            raise MemoryValidationError(f"filters.{exc.field}", exc.message) from None
        return cls(**clean)

    def for_store(self, *, tiers_enabled: bool = True) -> Filters:
        """The value the store reads; with tiers off the tier is dropped (one flat tier)."""
        return self if tiers_enabled or self.tier is None else replace(self, tier=None)
