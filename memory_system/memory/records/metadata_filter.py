"""The ``metadata`` filter of a list or a search: memories whose metadata holds given strings.

Why: a program that keeps its own keys in a memory's metadata (the LangGraph store of
``integrations/langgraph`` files an item under its namespace and key there) needs to find a
memory by them, and reading every memory of the agent to compare would not scale. Each pair
is a path into the metadata object (``langgraph.key``: dot-separated object keys) and the
string found there; a memory matches when every pair does (exact, case-sensitive; a number
or boolean at the path never equals a string).

Usage::

    check_metadata_filter({"langgraph.key": "prefs"}, "metadata")   # (("langgraph.key", "prefs"),)
    parse_metadata_params(["langgraph.key:prefs"], "metadata")      # the same, from a query string
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from memory_system.core.validation import InvalidValue, check_text
from memory_system.memory.records.models import MemoryValidationError

__all__ = [
    "MAX_METADATA_PAIRS",
    "MAX_METADATA_VALUE_CHARS",
    "METADATA_PATH_PATTERN",
    "MetadataPairs",
    "check_metadata_filter",
    "parse_metadata_params",
]

MAX_METADATA_PAIRS = 8
MAX_METADATA_VALUE_CHARS = 1000
# Up to 8 object keys of letters, digits, _ and -, joined by dots: no JSON-path syntax to escape.
METADATA_PATH_PATTERN = r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$"
_PATH = re.compile(METADATA_PATH_PATTERN)

# (path, value) pairs, sorted by path: hashable, so a frozen filter can hold them.
MetadataPairs = tuple[tuple[str, str], ...]


def _pair(path: Any, value: Any, field: str) -> tuple[str, str]:
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise MemoryValidationError(
            field,
            f"{path!r} is not a metadata path: object keys of letters, digits, _ or - (up to 64 each), "
            "joined by dots, e.g. langgraph.key",
        )
    if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_CHARS:
        raise MemoryValidationError(
            f"{field}.{path}", f"must be a string of at most {MAX_METADATA_VALUE_CHARS} characters"
        )
    try:
        check_text(value, f"{field}.{path}")
    except InvalidValue as exc:
        raise MemoryValidationError(exc.field, exc.message) from None
    return path, value


def _pairs(pairs: list[tuple[str, str]], field: str) -> MetadataPairs:
    if len(pairs) > MAX_METADATA_PAIRS:
        raise MemoryValidationError(field, f"holds {len(pairs)} pairs; the limit is {MAX_METADATA_PAIRS}")
    return tuple(sorted(pairs))


def check_metadata_filter(value: Any, field: str) -> MetadataPairs:
    """A JSON object of path -> string (a search body's ``filters.metadata``)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise MemoryValidationError(
            field, 'must be a JSON object of path -> string, e.g. {"topic": "deploys"}'
        )
    return _pairs([_pair(path, text, field) for path, text in value.items()], field)


def parse_metadata_params(values: Sequence[str] | None, field: str) -> MetadataPairs:
    """Query-string form, ``metadata=path:value`` repeated (the path holds no ``:``)."""
    if not values:
        return ()
    pairs: dict[str, str] = {}
    for item in values:
        path, colon, text = item.partition(":")
        if not colon:
            raise MemoryValidationError(field, f"{item!r} is not path:value, e.g. metadata=topic:deploys")
        if path in pairs:
            raise MemoryValidationError(field, f"names {path!r} twice; give each path once")
        pairs[path] = _pair(path, text, field)[1]
    return _pairs(list(pairs.items()), field)
