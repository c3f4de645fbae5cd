"""Full-text search over memories: FTS5 BM25, inside one namespace, behind the visibility predicate.

Every read here takes the caller's ``Visibility`` and the search's ``Filters`` (``store/scope.py``)
and builds the WHERE clause itself (``scope_sql``); no SQL reaches the service layer.

User text never reaches FTS5 syntax: it is cut into word tokens, stopwords dropped, and each
token quoted, then OR-ed (any shared word is a hit; BM25 ranks by how rare and how often). The
namespace is a token of the index's ``scope`` column, so a query matches inside its namespace
rather than ranking every namespace's matches and filtering afterwards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from memory_system.store.connection import Connection
from memory_system.store.memories import MEMORY_COLUMNS, Row, metadata_sql
from memory_system.store.scope import Filters, Visibility
from memory_system.store.visibility import visible_sql

# Weights of the FTS columns (content, context = metadata strings, scope).
CONTENT_WEIGHT = 1.0
CONTEXT_WEIGHT = 0.5
MAX_TERMS = 32

_TOKEN = re.compile(r"\w+", re.UNICODE)

STOPWORDS = frozenset(
    """
a about above after again against all am an and any are aren't as at be because been before being
below between both but by can could did do does doing don't down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just let me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves s t d ll m re ve y also
""".split()
)


def scope_token(namespace: str) -> str:
    """The namespace as one index token: 'ns' + hex of its UTF-8 bytes (what the trigger writes)."""
    return "ns" + namespace.encode("utf-8").hex()


def query_terms(text: str) -> list[str]:
    """Word tokens of ``text``, lower-cased, stopwords dropped, first occurrence order, capped."""
    seen: dict[str, None] = {}
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    kept = [t for t in tokens if t not in STOPWORDS] or tokens
    for token in kept:
        seen.setdefault(token, None)
    return list(seen)[:MAX_TERMS]


def match_expression(namespace: str, terms: list[str]) -> str:
    quoted = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return f'scope : "{scope_token(namespace)}" AND {{content context}} : ({quoted})'


def pool_size(limit: int) -> int:
    """Candidates ranked before the visibility re-check: enough that a caller who sees most of
    the namespace gets ``limit`` of them, few enough to re-check by rowid in ~1 ms."""
    return max(4 * limit, 200)


def fulltext_search(
    conn: Connection,
    visibility: Visibility,
    filters: Filters,
    terms: list[str],
    limit: int,
    ranked: list[tuple[int, float]] | None = None,
) -> list[tuple[int, float]]:
    """(memory id, BM25 score, higher is better) for visible memories matching any term,
    inside the caller's namespace.

    ``ranked``: the namespace's best ``pool_size(limit)`` candidates when an in-memory index
    (memory/retrieval/text_index.py) has ranked them already; else FTS5 ranks them in the index alone.
    Either way only those candidates are re-checked, by rowid: joining every match to
    ``memories`` for the visibility predicate doubled the cost at 100k memories (24 -> 11 ms
    p50, benchmarks/fulltext.py). When the caller may see too few of them (a small scope in a
    crowded namespace), FTS5's joined query ranks only what the caller may see.
    """
    if not terms:
        return []
    pool = pool_size(limit)
    match = match_expression(visibility.namespace, terms)
    if ranked is None:
        ranked = [
            (int(r[0]), float(r[1]))
            for r in conn.execute(
                f"SELECT rowid, -bm25(memories_fts, {CONTENT_WEIGHT}, {CONTEXT_WEIGHT}, 0.0) AS score"
                " FROM memories_fts WHERE memories_fts MATCH ? ORDER BY score DESC LIMIT ?",
                (match, pool),
            )
        ]
    where, params = scope_sql("m", visibility, filters)
    hits = _first_visible(conn, ranked, where, params, limit)
    if len(hits) >= limit or len(ranked) < pool:
        return hits
    rows = conn.execute(
        f"SELECT m.id, -bm25(memories_fts, {CONTENT_WEIGHT}, {CONTEXT_WEIGHT}, 0.0) AS score"
        " FROM memories_fts CROSS JOIN memories m ON m.id = memories_fts.rowid"
        f" WHERE memories_fts MATCH :fts_query AND {where} ORDER BY score DESC LIMIT :fts_limit",
        {**params, "fts_query": match, "fts_limit": limit},
    ).fetchall()
    return [(int(r[0]), float(r[1])) for r in rows]


_TEXT_SELECT = (
    "SELECT m.id, m.namespace, m.content,"
    " (SELECT group_concat(value, ' ') FROM json_each(m.metadata) WHERE type = 'text')"
    " FROM memories m"
)  # the same text the memories_fts triggers index


def namespace_texts(conn: Connection, namespace: str) -> Iterator[tuple[int, str, str, str | None]]:
    """(id, namespace, content, metadata strings) of every memory of a namespace: the
    in-memory BM25 index (memory/retrieval/text_index.py) is built from these."""
    yield from conn.execute(f"{_TEXT_SELECT} WHERE m.namespace = ?", (namespace,))


def namespaces_by_size(conn: Connection) -> list[str]:
    """Every namespace with memories, largest first (the order a warm-up loads them in)."""
    rows = conn.execute("SELECT namespace FROM memories GROUP BY namespace ORDER BY count(*) DESC")
    return [str(r[0]) for r in rows]


def texts_of(conn: Connection, ids: Sequence[int]) -> list[tuple[int, str, str, str | None]]:
    """The same for the given ids (those that still exist)."""
    if not ids:
        return []
    return [
        tuple(r)
        for r in conn.execute(
            f"{_TEXT_SELECT} WHERE m.id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
        )
    ]


def first_visible(
    conn: Connection, ranked: list[tuple[int, float]], visibility: Visibility, filters: Filters, want: int
) -> list[tuple[int, float]]:
    """The first ``want`` of ``ranked`` (candidates from an index) that the caller may see and
    the filters let through, in order."""
    where, params = scope_sql("m", visibility, filters)
    return _first_visible(conn, ranked, where, params, want)


def visible_rows(
    conn: Connection, ids: list[int], visibility: Visibility, filters: Filters
) -> dict[int, Row]:
    """Full memory rows (``memories.MEMORY_COLUMNS``) of the ``ids`` that are still in scope, by id."""
    where, params = scope_sql("m", visibility, filters)
    return _fetch_visible(conn, _MEMORY_COLS, ids, where, params)


_MEMORY_COLS = ", ".join(f"m.{c}" for c in MEMORY_COLUMNS)


def _first_visible(
    conn: Connection, ranked: list[tuple[int, float]], where: str, params: dict[str, Any], want: int
) -> list[tuple[int, float]]:
    """Checks twice ``want`` first (enough when the caller sees most of the namespace, half the
    rowid lookups of checking the whole pool), then the rest only if that fell short."""
    head = 2 * want
    visible = _fetch_visible(conn, "m.id", [memory_id for memory_id, _ in ranked[:head]], where, params)
    hits = [(memory_id, score) for memory_id, score in ranked[:head] if memory_id in visible]
    if len(hits) < want and len(ranked) > head:
        visible = _fetch_visible(conn, "m.id", [memory_id for memory_id, _ in ranked[head:]], where, params)
        hits += [(memory_id, score) for memory_id, score in ranked[head:] if memory_id in visible]
    return hits[:want]


def _fetch_visible(
    conn: Connection, columns: str, ids: list[int], where: str, params: dict[str, Any]
) -> dict[int, Any]:
    """Rows of ``ids`` that ``where`` still lets through: every candidate is re-checked here."""
    if not ids:
        return {}
    marks = ",".join(f":id{i}" for i in range(len(ids)))
    # NOT INDEXED: with the visibility predicate the planner otherwise walks the (namespace,
    # agent) index over every row of the agent instead of looking up the ids. The id lookup
    # is the rowid, which NOT INDEXED still uses.
    rows = conn.execute(
        f"SELECT {columns} FROM memories m NOT INDEXED WHERE m.id IN ({marks}) AND {where}",
        {**params, **{f"id{i}": v for i, v in enumerate(ids)}},
    ).fetchall()
    return {int(r[0]): r for r in rows}


def scope_sql(alias: str, visibility: Visibility, filters: Filters) -> tuple[str, dict[str, Any]]:
    """The WHERE fragment of a search over ``memories AS alias``: what the caller may see
    (``visibility.visible_sql``, params ``vis_*``) narrowed by the filters (params ``flt_*``)."""
    where, params = visible_sql(alias, visibility)
    extra_where, extra_params = filter_sql(alias, filters)
    return f"{where} AND {extra_where}", {**params, **extra_params}


# (field of Filters, parameter, operator, column)
_FILTERS = (
    ("kind", "flt_kind", "=", "kind"),
    ("tier", "flt_tier", "=", "tier"),
    ("session_id", "flt_session", "=", "session_id"),
    ("user_id", "flt_user", "=", "user_id"),
    ("occurred_after", "flt_occ_after", ">=", "occurred_at"),
    ("occurred_before", "flt_occ_before", "<", "occurred_at"),
    ("created_after", "flt_cre_after", ">=", "created_at"),
    ("created_before", "flt_cre_before", "<", "created_at"),
)


def filter_sql(alias: str, filters: Filters) -> tuple[str, dict[str, Any]]:
    """A WHERE fragment (``1`` when no filter is set) for a search's filters; params ``flt_*``."""
    params: dict[str, Any] = {}
    for field, param, _, _ in _FILTERS:
        value = getattr(filters, field)
        if value is not None:
            params[param] = value
    text = _filter_text(alias, frozenset(params))
    if not filters.metadata:
        return text, params
    clauses, meta_params = metadata_sql(alias, filters.metadata, "flt_meta_")
    return " AND ".join([text, *clauses]), {**params, **meta_params}


@cache  # one text per alias and set of filters in use
def _filter_text(alias: str, present: frozenset[str]) -> str:
    clauses = [f"{alias}.{column} {op} :{param}" for _, param, op, column in _FILTERS if param in present]
    return " AND ".join(clauses) or "1"
