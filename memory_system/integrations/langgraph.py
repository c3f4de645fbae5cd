"""LangGraph's long-term memory store (``BaseStore``) over the memory-system client.

A graph compiled with ``store=MemoryStore(...)`` keeps what its nodes ``put`` as memories of
the agent whose token the client holds: that token is the isolation (another agent, or
another namespace's token, sees none of them unless they are shared), the items live in the
tier asked for (``long_term`` by default, so the tier rules never expire them), and searches
with a query are the service's hybrid retrieval. How an item is laid out in a memory:
``_langgraph_items``. Needs the ``langgraph`` extra: ``pip install 'memory-system[langgraph]'``.

Usage::

    from memory_system.client import MemoryClient
    from memory_system.integrations.langgraph import MemoryStore

    store = MemoryStore(MemoryClient("http://127.0.0.1:8080", token="mst_..."))
    graph = builder.compile(store=store)     # nodes read it as ``store`` or ``get_store()``

What each operation costs and means:

- ``get``: one filtered list request. ``put``: that lookup, then a create or a change (same
  memory id, ``created_at`` kept, ``updated_at`` the service's); ``put(..., None)`` /
  ``delete``: the lookup and a delete.
- ``search(prefix, query=...)``: one search request, at most 100 ranked items (the service's
  ``k``), each with its fused ``score``; a ``filter`` is applied to those 100. Without a query:
  the filtered list, newest first, paged 500 at a time until ``offset + limit`` items match.
- ``list_namespaces``: reads every item of the collection (under the prefix when it has no
  wildcard), 500 a request: fine for thousands of items, not for millions.
- ``batch``: reads first, then the puts (the last put of a key wins), as LangGraph's own stores
  do; ``abatch`` the same over ``AsyncMemoryClient`` (or, without one, ``batch`` in a thread).
- TTLs are not supported (``supports_ttl = False``): give memories an expiry through the
  service (``expires_at``) instead. An item is one memory, so its value is bounded by the
  service's metadata limit (16 KiB as JSON).

Tier, importance, kind and visibility: the constructor's apply to every item;
``memory_fields(op)`` may override them per item (``{"tier": "short_term"}``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    validate_op_namespace,
)

from memory_system.client import AsyncMemoryClient, MemoryClient, MemoryServiceError, models
from memory_system.integrations import _langgraph_items as items

__all__ = ["MemoryStore"]

T = TypeVar("T")
# One client call: method name, positional and keyword arguments. Each operation is written
# once, as a generator of these, and run by the sync or the async client.
Step = tuple[str, tuple[Any, ...], dict[str, Any]]
Plan = Generator[Step, Any, T]

MAX_SEARCH_K = 100  # the service's largest k
PAGE = 500  # the service's largest list page
MEMORY_FIELDS = ("kind", "tier", "importance", "visibility", "user_id")


class MemoryStore(BaseStore):
    """LangGraph's ``BaseStore`` on a memory-system service, as the client's agent.

    >>> store = MemoryStore(MemoryClient(url, token=token), AsyncMemoryClient(url, token=token))
    >>> store.put(("users", "u1"), "prefs", {"food": "likes pizza"})
    >>> store.search(("users",), query="what food?")[0].value
    {'food': 'likes pizza'}

    ``collection`` keeps two stores of one agent apart; ``fields`` are the value's paths whose
    text is searched (LangGraph's path syntax; default the whole value; a put's ``index``
    overrides it, ``index=False`` leaves nothing of the value searchable).
    """

    supports_ttl = False
    __slots__ = ("_aclient", "_client", "_defaults", "_fields", "_memory_fields", "collection")

    def __init__(
        self,
        client: MemoryClient,
        async_client: AsyncMemoryClient | None = None,
        *,
        collection: str = "default",
        tier: str | None = "long_term",
        importance: float | None = None,
        kind: str | None = None,
        visibility: str | None = None,
        fields: Sequence[str] | None = None,
        memory_fields: Callable[[PutOp], Mapping[str, Any]] | None = None,
    ) -> None:
        if not isinstance(collection, str) or not 1 <= len(collection) <= items.MAX_FILTER_CHARS:
            raise ValueError(
                f"collection must be 1 to {items.MAX_FILTER_CHARS} characters, not {collection!r}"
            )
        self._client, self._aclient, self.collection = client, async_client, collection
        self._fields = None if fields is None else list(fields)
        self._memory_fields = memory_fields
        given = {"tier": tier, "importance": importance, "kind": kind, "visibility": visibility}
        self._defaults = {name: value for name, value in given.items() if value is not None}

    # --- BaseStore ------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self._run(self._batch(list(ops)))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        if self._aclient is None:
            return await asyncio.to_thread(self.batch, list(ops))
        return await self._arun(self._batch(list(ops)))

    # --- running plans --------------------------------------------------------------------

    def _run(self, plan: Plan[T]) -> T:
        client = self._client
        try:
            step = next(plan)
            while True:
                name, args, kwargs = step
                try:
                    answer = getattr(client, name)(*args, **kwargs)
                except MemoryServiceError as error:
                    step = plan.throw(error)
                else:
                    step = plan.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def _arun(self, plan: Plan[T]) -> T:
        client = self._aclient
        try:
            step = next(plan)
            while True:
                name, args, kwargs = step
                try:
                    answer = await getattr(client, name)(*args, **kwargs)
                except MemoryServiceError as error:
                    step = plan.throw(error)
                else:
                    step = plan.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            return result

    def _batch(self, ops: list[Op]) -> Plan[list[Result]]:
        """Reads in order, then the puts, deduplicated by (namespace, key): the last one wins."""
        results: list[Result] = [None] * len(ops)
        puts: dict[tuple[tuple[str, ...], str], PutOp] = {}
        for index, op in enumerate(ops):
            validate_op_namespace(op)
            if isinstance(op, GetOp):
                results[index] = yield from self._get(op)
            elif isinstance(op, SearchOp):
                results[index] = yield from self._search(op)
            elif isinstance(op, ListNamespacesOp):
                results[index] = yield from self._list_namespaces(op)
            elif isinstance(op, PutOp):
                if not op.namespace:
                    raise InvalidNamespaceError("Namespace cannot be empty.")
                if op.ttl is not None:
                    raise NotImplementedError(
                        "TTL is not supported by MemoryStore: put with ttl=None, or give memories an "
                        "expiry through the memory-system API (expires_at)"
                    )
                puts[(tuple(op.namespace), op.key)] = op
            else:
                raise ValueError(f"unknown store operation {type(op).__name__}: {op!r}")
        for op in puts.values():
            yield from self._put(op)
        return results

    # --- the operations -------------------------------------------------------------------

    def _find(self, namespace: tuple[str, ...], key: str) -> Plan[models.Memory | None]:
        wanted = items.by_key(self.collection, namespace, key)
        page = yield ("list_memories", (), {"metadata": wanted, "limit": 1})
        return page.memories[0] if page.memories else None

    def _get(self, op: GetOp) -> Plan[Item | None]:
        memory = yield from self._find(tuple(op.namespace), op.key)
        return None if memory is None else items.item_of(memory)

    def _search(self, op: SearchOp) -> Plan[list[SearchItem]]:
        if op.limit < 0 or op.offset < 0:
            raise ValueError(f"search limit and offset must be 0 or more, not {op.limit} and {op.offset}")
        wanted = op.offset + op.limit
        scope = items.by_prefix(self.collection, op.namespace_prefix)
        found: list[SearchItem] = []
        if wanted == 0:
            return found
        if op.query and op.query.strip():
            k = MAX_SEARCH_K if op.filter else min(MAX_SEARCH_K, wanted)
            answer = yield ("search", (op.query,), {"k": k, "filters": {"metadata": scope}})
            for hit in answer.hits:
                item = items.item_of(hit.memory, hit.score, search=True)
                if isinstance(item, SearchItem) and items.matches(item.value, op.filter):
                    found.append(item)
            return found[op.offset : wanted]
        cursor: str | None = None
        while len(found) < wanted:
            size = PAGE if op.filter else min(PAGE, wanted - len(found))
            page = yield ("list_memories", (), {"metadata": scope, "limit": size, "cursor": cursor})
            for memory in page.memories:
                item = items.item_of(memory, search=True)
                if isinstance(item, SearchItem) and items.matches(item.value, op.filter):
                    found.append(item)
            cursor = page.next_cursor
            if cursor is None:
                break
        return found[op.offset : wanted]

    def _list_namespaces(self, op: ListNamespacesOp) -> Plan[list[tuple[str, ...]]]:
        if op.limit < 0 or op.offset < 0:
            raise ValueError(f"limit and offset must be 0 or more, not {op.limit} and {op.offset}")
        if op.max_depth is not None and op.max_depth < 1:
            raise ValueError(f"max_depth must be 1 or more, not {op.max_depth}")
        conditions = op.match_conditions or ()
        # A prefix without wildcards narrows what is read; the rest is matched here.
        exact = [c.path for c in conditions if c.match_type == "prefix" and "*" not in c.path]
        scope = items.by_prefix(self.collection, exact[0] if exact else ())
        found: set[tuple[str, ...]] = set()
        cursor: str | None = None
        while True:
            page = yield ("list_memories", (), {"metadata": scope, "limit": PAGE, "cursor": cursor})
            for memory in page.memories:
                namespace = items.namespace_of(memory)
                if namespace is not None and items.namespace_matches(namespace, conditions):
                    found.add(namespace if op.max_depth is None else namespace[: op.max_depth])
            cursor = page.next_cursor
            if cursor is None:
                break
        return sorted(found)[op.offset : op.offset + op.limit]

    def _fields_for(self, op: PutOp) -> dict[str, Any]:
        chosen = {**self._defaults, **(dict(self._memory_fields(op)) if self._memory_fields else {})}
        unknown = sorted(set(chosen) - set(MEMORY_FIELDS))
        if unknown:
            raise ValueError(f"memory_fields gave {unknown}; it may set {', '.join(MEMORY_FIELDS)}")
        return {name: value for name, value in chosen.items() if value is not None}

    def _put(self, op: PutOp) -> Plan[None]:
        namespace = tuple(op.namespace)
        existing = yield from self._find(namespace, op.key)
        if op.value is None:
            if existing is not None:
                try:
                    yield ("delete_memory", (existing.id,), {})
                except MemoryServiceError as error:
                    if error.status != 404:  # deleted meanwhile: what was asked for
                        raise
            return None
        fields = self._fields if op.index is None else ([] if op.index is False else list(op.index))
        content = items.content_of(self.collection, namespace, op.key, op.value, fields)
        metadata = items.metadata_of(self.collection, namespace, op.key, op.value)
        if existing is None:
            yield ("remember", (content,), {"metadata": metadata, **self._fields_for(op)})
        else:
            yield (
                "update_memory",
                (existing.id,),
                {"content": content, "metadata": metadata, **self._fields_for(op)},
            )
        return None
