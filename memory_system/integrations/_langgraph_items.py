"""How a LangGraph store item is one memory of this service, and back (``integrations.langgraph``).

One item (namespace tuple + key) is one memory of the agent whose token the client holds:

- ``metadata.value``: the item's value, as given (so a memory's metadata bounds a value: the
  service keeps up to 16 KiB of it as JSON, and refuses more with a 422 naming ``metadata``);
- ``metadata.langgraph``: where it is filed, as the strings the service's ``metadata`` filter
  matches exactly: ``store`` (the store's collection), ``namespace`` (labels joined by ``.``,
  which LangGraph forbids inside a label, so the join is unambiguous), ``key``, and
  ``prefix.d1`` .. ``prefix.dN`` (the namespace's first 1..N labels), so a lookup by key and a
  search under any prefix are each one filtered request with at most three pairs;
- ``content``: a text rendering of the value, what full-text and dense retrieval rank, then
  ``#`` and 16 hex digits of a hash of collection, namespace and key. The tag keeps two items
  with the same value from reading as one restated memory (the service folds near-identical
  content of an agent into one); it is one token no query matches, where a ``namespace/key``
  header would make every item of ``("memories", "ada")`` a hit for a query naming Ada.

Nested ``metadata.langgraph`` strings are not full-text indexed (only top-level strings are),
so the filing labels never compete with the value's own words in a search.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langgraph.store.base import Item, MatchCondition, SearchItem
from langgraph.store.base.embed import get_text_at_path

from memory_system.client import models

__all__ = [
    "MAX_FILTER_CHARS",
    "by_key",
    "by_prefix",
    "content_of",
    "item_of",
    "matches",
    "metadata_of",
    "namespace_matches",
    "namespace_of",
    "path_of",
]

# The service's limit on one string of a metadata filter (memory/records/metadata_filter.py).
MAX_FILTER_CHARS = 1000
# The service keeps up to 32 KiB of content; the rendering is cut to leave room for the header.
_MAX_CONTENT_BYTES = 30 * 1024
_ALL = "$"


def path_of(namespace: tuple[str, ...]) -> str:
    """The labels joined by ``.``; checked to fit the service's filter (1,000 characters)."""
    path = ".".join(namespace)
    if len(path) > MAX_FILTER_CHARS:
        raise ValueError(
            f"namespace {namespace!r} is {len(path)} characters joined; the memory-system store "
            f"files items under at most {MAX_FILTER_CHARS}"
        )
    return path


def _checked_key(key: str) -> str:
    if not key or len(key) > MAX_FILTER_CHARS:
        raise ValueError(f"key {key[:40]!r}... must be 1 to {MAX_FILTER_CHARS} characters")
    return key


def by_key(collection: str, namespace: tuple[str, ...], key: str) -> dict[str, str]:
    """The metadata filter that finds one item."""
    return {
        "langgraph.store": collection,
        "langgraph.namespace": path_of(namespace),
        "langgraph.key": _checked_key(key),
    }


def by_prefix(collection: str, prefix: Sequence[str]) -> dict[str, str]:
    """The metadata filter of every item under ``prefix`` (the whole collection for ``()``)."""
    pairs = {"langgraph.store": collection}
    if prefix:
        pairs[f"langgraph.prefix.d{len(prefix)}"] = path_of(tuple(prefix))
    return pairs


def metadata_of(
    collection: str, namespace: tuple[str, ...], key: str, value: Mapping[str, Any]
) -> dict[str, Any]:
    prefixes = {f"d{n}": ".".join(namespace[:n]) for n in range(1, len(namespace) + 1)}
    filed = {
        "store": collection,
        "namespace": path_of(namespace),
        "key": _checked_key(key),
        "prefix": prefixes,
    }
    return {"langgraph": filed, "value": dict(value)}


def _render(value: Mapping[str, Any]) -> list[str]:
    """``field: text`` per top-level field: words an embedding model and BM25 both read well."""
    lines = []
    for field, inner in value.items():
        text = inner if isinstance(inner, str) else json.dumps(inner, ensure_ascii=False, sort_keys=True)
        lines.append(f"{field}: {text}")
    return lines


def content_of(
    collection: str,
    namespace: tuple[str, ...],
    key: str,
    value: Mapping[str, Any],
    fields: Sequence[str] | None,
) -> str:
    """What retrieval ranks: the value's text at ``fields`` (LangGraph's path syntax; ``$`` or
    None the whole value; ``[]`` nothing, as a put's ``index=False``), then the item's tag."""
    filed = json.dumps([collection, list(namespace), key], ensure_ascii=False)
    tag = "#" + hashlib.sha256(filed.encode("utf-8")).hexdigest()[:16]
    texts: list[str] = []
    for field in [_ALL] if fields is None else fields:
        texts += _render(value) if field == _ALL else get_text_at_path(dict(value), field)
    body = "\n".join(t for t in texts if t.strip()).encode("utf-8")
    if len(body) > _MAX_CONTENT_BYTES:
        body = body[:_MAX_CONTENT_BYTES]
    text = body.decode("utf-8", "ignore")
    return f"{text}\n{tag}" if text else tag


def namespace_of(memory: models.Memory) -> tuple[str, ...] | None:
    filed = memory.metadata.get("langgraph")
    if not isinstance(filed, dict) or not isinstance(filed.get("namespace"), str):
        return None
    return tuple(filed["namespace"].split("."))


def item_of(memory: models.Memory, score: float | None = None, *, search: bool = False) -> Item | None:
    """The item a memory holds; None for a memory that is not a LangGraph item."""
    namespace = namespace_of(memory)
    filed, value = memory.metadata.get("langgraph"), memory.metadata.get("value")
    if namespace is None or not isinstance(filed, dict) or not isinstance(value, dict):
        return None
    key = str(filed.get("key"))
    if search:
        return SearchItem(namespace, key, value, memory.created_at, memory.updated_at, score)
    return Item(
        value=value, key=key, namespace=namespace, created_at=memory.created_at, updated_at=memory.updated_at
    )


# --- LangGraph's filter and namespace conditions, as its own stores read them ---------------


def _compare(actual: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict):
        if any(k.startswith("$") for k in wanted):
            return all(_operator(actual, op, operand) for op, operand in wanted.items())
        return isinstance(actual, dict) and all(_compare(actual.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(wanted)
            and all(_compare(a, w) for a, w in zip(actual, wanted, strict=True))
        )
    return bool(actual == wanted)


def _operator(actual: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(actual == operand)
    if op == "$ne":
        return bool(actual != operand)
    if op not in ("$gt", "$gte", "$lt", "$lte"):
        raise ValueError(f"filter operator {op!r} is not one of $eq, $ne, $gt, $gte, $lt, $lte")
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False  # a missing or non-numeric field is outside every range
    a, b = float(actual), float(operand)
    return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[op]


def matches(value: Mapping[str, Any], wanted: Mapping[str, Any] | None) -> bool:
    """A search's ``filter``: each field equal, or within its ``$op`` conditions."""
    return not wanted or all(_compare(value.get(field), w) for field, w in wanted.items())


def _condition(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path), strict=False)
    else:
        raise ValueError(f"match_type {condition.match_type!r} is not 'prefix' or 'suffix'")
    return all(p == "*" or n == p for n, p in pairs)


def namespace_matches(namespace: tuple[str, ...], conditions: Iterable[MatchCondition] | None) -> bool:
    return all(_condition(c, namespace) for c in conditions or ())
