"""The checks every entry point shares: HTTP, MCP, CLI and the config file refuse alike.

Why one module: a value the service cannot hold must be refused where it comes in, with the
same message whichever door it came through. Python and SQLite each have limits that JSON
does not: a string with a lone surrogate (``"\\ud800"``) cannot be encoded as UTF-8 for
SQLite; an integer of 2**63 or more does not fit an SQLite INTEGER; a time near year 1 or
9999 overflows when moved to UTC; and a value nested a few hundred levels deep exceeds what
the serialisers will render. A value refused here never reaches a transaction.

Each ``check_*`` returns the value as stored, or raises ``InvalidValue`` naming the field.
``InvalidValue`` is a ``ValueError``, so pydantic models can use the checks as validators and
report them with the field's location.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.core.errors import ServiceError

__all__ = [
    "AGENT_ID_PATTERN",
    "INT64_MAX",
    "MAX_JSON_DEPTH",
    "InvalidValue",
    "check_agent_id",
    "check_finite",
    "check_int64",
    "check_json_value",
    "check_text",
    "check_timestamp",
]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# Levels of nesting a stored JSON value (metadata, state, a preference) may have. The
# serialisers recurse and stop near 255 levels; 32 is more than any real document needs.
MAX_JSON_DEPTH = 32
# An agent id as tokens issue it: what every field naming an agent must look like.
AGENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$"
_AGENT_ID = re.compile(AGENT_ID_PATTERN)


class InvalidValue(ServiceError, ValueError):
    """A value no part of the service can hold or use; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


def _lone_surrogate(text: str) -> int | None:
    """Index of the first lone surrogate (U+D800..U+DFFF), which UTF-8 cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def check_text(value: str, field: str) -> str:
    """``value`` if every character can be stored as UTF-8."""
    at = _lone_surrogate(value)
    if at is not None:
        raise InvalidValue(
            field, f"has a lone surrogate (U+{ord(value[at]):04X}) at character {at}, which is not text"
        )
    return value


def check_int64(value: int, field: str, *, minimum: int = INT64_MIN) -> int:
    """``value`` if SQLite can store it (a signed 64-bit integer) and it is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field, "must be an integer")
    if not minimum <= value <= INT64_MAX:
        raise InvalidValue(field, f"must be an integer from {minimum} to {INT64_MAX}")
    return value


def check_finite(value: float, field: str) -> float:
    """``value`` if it is a real number (not NaN or an infinity, which JSON cannot carry)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidValue(field, "must be a finite number")
    return float(value)


def check_agent_id(value: object, field: str) -> str:
    """An agent id (or namespace) as tokens issue it: 1-128 letters, digits and ``. _ : @ / -``."""
    if not isinstance(value, str) or not _AGENT_ID.fullmatch(value):
        raise InvalidValue(
            field, "must be 1-128 letters, digits or . _ : @ / -, starting with a letter or digit"
        )
    return value


def check_timestamp(value: object, field: str) -> str:
    """ISO 8601 in, ISO 8601 UTC with milliseconds out (the form SQLite writes and sorts).

    A time without an offset is taken as UTC; a bare date means its midnight UTC. An empty
    string is refused: it would otherwise silently mean "now" or "never".
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidValue(
                field, f"{value!r} is not an ISO 8601 time; use e.g. 2024-05-01T12:00:00Z"
            ) from None
    else:
        raise InvalidValue(field, "must be an ISO 8601 time string, e.g. 2024-05-01T12:00:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return format_utc(moment)
    except OverflowError:
        raise InvalidValue(field, f"{value!s} is outside the years 1 to 9999 once moved to UTC") from None


def check_json_value(value: Any, field: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` if every later use can handle it: nested at most ``max_depth`` levels, text that
    UTF-8 can encode, integers SQLite's JSON functions can hold, finite numbers.

    One walk without recursion, so that a value too deep for the serialisers is named (the path
    where it passes the limit), not crashed on.
    """
    stack: list[tuple[Any, str, int]] = [(value, field, 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str):
            check_text(node, where)
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            check_int64(node, where)
        elif isinstance(node, float):
            check_finite(node, where)
        elif isinstance(node, dict | list | tuple):
            if depth >= max_depth:
                raise InvalidValue(where, f"is nested more than {max_depth} levels deep")
            if isinstance(node, dict):
                for key, child in node.items():
                    if not isinstance(key, str):
                        raise InvalidValue(where, f"has a key that is not a string: {key!r}")
                    check_text(key, f"{where} (a key)")
                    stack.append((child, f"{where}.{key}", depth + 1))
            else:
                stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(node))
        else:
            raise InvalidValue(where, f"is a {type(node).__name__}, not a JSON value")
    return value
