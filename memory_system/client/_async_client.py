"""``AsyncMemoryClient``: ``MemoryClient``'s operations for asyncio (or trio, through anyio)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from memory_system.client import _calls as calls
from memory_system.client import models as m
from memory_system.client._client import _Base
from memory_system.client._retry import Busy, RetryPolicy, async_retrying

T = TypeVar("T")

__all__ = ["AsyncMemoryClient"]


class AsyncMemoryClient(_Base):
    """``MemoryClient`` with every call awaitable.

    >>> async with AsyncMemoryClient("http://127.0.0.1:8080", token="mst_...") as memory:
    ...     await memory.remember("deploys freeze on Fridays")
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        admin_token: str | None = None,
        agent_id: str | None = None,
        namespace: str | None = None,
        session_id: str | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            url,
            token=token,
            admin_token=admin_token,
            agent_id=agent_id,
            namespace=namespace,
            session_id=session_id,
            timeout_s=timeout_s,
            retry=retry,
        )
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncMemoryClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _run(self, call: calls.Call[T]) -> T:
        try:
            async for attempt in async_retrying(self.retry, call.idempotent):
                with attempt:
                    response = await self._http.request(call.method, call.path, **self._request(call))
                    return self._read(call, response)
        except (Busy, httpx.TransportError) as error:
            raise self._failed(call, error) from error
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    # Sessions and state
    async def start_session(self) -> m.Session:
        return await self._run(calls.start_session())

    async def get_session(self, session_id: str) -> m.Session:
        return await self._run(calls.get_session(session_id))

    async def end_session(self, session_id: str) -> m.Session:
        return await self._run(calls.end_session(session_id))

    async def get_state(self, session_id: str) -> m.SessionState:
        return await self._run(calls.get_state(session_id))

    async def put_state(self, session_id: str, state: Mapping[str, Any], *, version: int) -> m.SessionState:
        return await self._run(calls.put_state(session_id, state, version))

    async def handoff(self, session_id: str, to_agent_id: str) -> m.Handoff:
        return await self._run(calls.handoff(session_id, to_agent_id))

    # Memories
    async def remember(self, content: str, **fields: Any) -> m.MemoryWrite:
        """Store a memory (``kind``, ``tier``, ``importance``, ``metadata``, ``session_id``, ...)."""
        return await self._run(calls.remember(content, **fields))

    async def remember_many(self, items: Sequence[Mapping[str, Any]]) -> m.BatchResult:
        return await self._run(calls.remember_many(items))

    async def list_memories(self, **filters: Any) -> m.MemoryPage:
        return await self._run(calls.list_memories(**filters))

    async def get_memory(self, memory_id: int) -> m.Memory:
        return await self._run(calls.get_memory(memory_id))

    async def update_memory(self, memory_id: int, **changes: Any) -> m.Memory:
        return await self._run(calls.update_memory(memory_id, changes))

    async def delete_memory(self, memory_id: int) -> int:
        return await self._run(calls.delete_memory(memory_id))

    async def search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> m.SearchResult:
        return await self._run(calls.search(query, k, filters, session_id))

    async def inject(self, query: str, **fields: Any) -> m.Injection:
        """The block to put in a prompt (``session_id``, ``token_budget``, ``format``, ``user_id``)."""
        return await self._run(calls.inject(query, **fields))

    # Sharing
    async def share(
        self,
        memory_id: int,
        agent_ids: Sequence[str] = (),
        *,
        namespace: bool = False,
        expires_at: str | None = None,
    ) -> m.Shares:
        return await self._run(calls.share(memory_id, agent_ids, namespace, expires_at))

    async def list_shares(self, memory_id: int) -> m.Shares:
        return await self._run(calls.list_shares(memory_id))

    async def revoke(
        self, memory_id: int, agent_ids: Sequence[str] = (), *, namespace: bool = False
    ) -> m.Shares:
        return await self._run(calls.revoke(memory_id, agent_ids, namespace))

    # Preferences and code patterns
    async def set_preference(self, user_id: str, key: str, value: Any) -> m.Preference:
        return await self._run(calls.set_preference(user_id, key, value))

    async def get_preference(self, user_id: str, key: str) -> m.Preference:
        return await self._run(calls.get_preference(user_id, key))

    async def list_preferences(self, user_id: str) -> m.PreferenceList:
        return await self._run(calls.list_preferences(user_id))

    async def delete_preference(self, user_id: str, key: str) -> str:
        return await self._run(calls.delete_preference(user_id, key))

    async def put_code_pattern(self, language: str, name: str, **fields: Any) -> m.CodePattern:
        return await self._run(calls.put_code_pattern(language, name, **fields))

    async def get_code_pattern(self, pattern_id: int) -> m.CodePattern:
        return await self._run(calls.get_code_pattern(pattern_id))

    async def list_code_patterns(self, **filters: Any) -> m.CodePatternPage:
        return await self._run(calls.list_code_patterns(**filters))

    async def search_code_patterns(self, query: str, **filters: Any) -> m.CodePatternSearch:
        return await self._run(calls.search_code_patterns(query, **filters))

    async def delete_code_pattern(self, pattern_id: int) -> int:
        return await self._run(calls.delete_code_pattern(pattern_id))

    # Entity memory
    async def create_entities(self, entities: Sequence[Mapping[str, Any]]) -> list[m.Entity]:
        return await self._run(calls.create_entities(entities))

    async def get_entity(self, name: str) -> m.EntityDetail:
        return await self._run(calls.get_entity(name))

    async def delete_entities(self, names: Sequence[str]) -> int:
        return await self._run(calls.delete_entities(names))

    async def create_relations(self, relations: Sequence[Mapping[str, Any]]) -> list[m.Relation]:
        return await self._run(calls.create_relations(relations))

    async def add_observations(self, entity_name: str, contents: Sequence[str]) -> list[str]:
        return await self._run(calls.add_observations(entity_name, contents))

    async def read_graph(self) -> m.Graph:
        return await self._run(calls.read_graph())

    async def search_graph(self, query: str) -> m.Graph:
        return await self._run(calls.search_graph(query))

    # Operations
    async def ready(self) -> m.Readiness:
        return await self._run(calls.ready())

    async def feature_flags(self) -> dict[str, Any]:
        return await self._run(calls.feature_flags())

    async def feature_flag_stats(self) -> dict[str, Any]:
        return await self._run(calls.feature_flag_stats())
