"""The check every JSON request body passes before any route, dependency or model sees it.

Why at the door: a body nested a few thousand levels deep makes the parser itself raise
``RecursionError``; one nested a few hundred levels deep parses, validates and is stored, and
then breaks every response that includes it; a lone surrogate (``"\\ud800"``) or an integer
of 2**63 parses fine and fails only when SQLite is asked to hold it. Checking the whole body
once, here, closes each class for every route at once, and names the offending field
(``items[3].metadata.k``) the way a validation error does.

Bodies that are not JSON at all are left to the route's own validation (422 ``json_invalid``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from memory_system.core.validation import MAX_JSON_DEPTH, InvalidValue, check_json_value

__all__ = ["MAX_BODY_DEPTH", "BodyProblem", "check_body", "is_json"]

# A stored value may nest MAX_JSON_DEPTH levels; the body around it adds a few (a batch's
# items, an item, its metadata).
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8


@dataclass(frozen=True)
class BodyProblem:
    """Why a body is refused: the field (a dotted path, ``body`` for the whole) and what is wrong."""

    field: str
    message: str
    kind: str


def is_json(content_type: str) -> bool:
    """``application/json`` and ``application/<anything>+json``, as FastAPI decides."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media.endswith("/json") or media.endswith("+json")


def check_body(body: bytes) -> tuple[Any, BodyProblem | None]:
    """The parsed body (``None`` when it is not JSON), and what is wrong with it, if anything."""
    if not body:
        return None, None
    try:
        parsed = json.loads(body)
    except RecursionError:
        return None, BodyProblem("body", f"is nested more than {MAX_BODY_DEPTH} levels deep", "json_depth")
    except UnicodeDecodeError as exc:
        return None, BodyProblem("body", f"is not UTF-8 text (byte {exc.start})", "json_encoding")
    except ValueError:
        return None, None  # malformed JSON: the route answers json_invalid, naming the position
    try:
        check_json_value(parsed, "", max_depth=MAX_BODY_DEPTH)
    except InvalidValue as exc:
        return parsed, BodyProblem(exc.field.lstrip(".") or "body", exc.message, "json_value")
    return parsed, None
