"""``MemoryClient`` and ``AsyncMemoryClient``: the same operations (``_calls``), run over httpx
with a timeout and the retries of ``_retry``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from memory_system.client import _calls as calls
from memory_system.client import models as m
from memory_system.client._errors import MemoryConnectionError, MemoryServiceError, MemoryTimeout
from memory_system.client._retry import Busy, RetryPolicy, retrying

T = TypeVar("T")

__all__ = ["MemoryClient"]


class _Base:
    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        admin_token: str | None,
        agent_id: str | None,
        namespace: str | None,
        session_id: str | None,
        timeout_s: float,
        retry: RetryPolicy | None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._agent: dict[str, str] = {"Authorization": f"Bearer {token}"} if token else {}
        if agent_id:  # dev mode (`serve --dev`) names the caller in headers instead
            self._agent["X-Agent-Id"] = agent_id
        if namespace:
            self._agent["X-Namespace"] = namespace
        if session_id:  # every call counts as this session's activity; flags are evaluated for it
            self._agent["X-Session-Id"] = session_id
        self._admin = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}

    def _request(self, call: calls.Call[Any]) -> dict[str, Any]:
        headers = {**(self._admin if call.admin else self._agent), **call.headers}
        request: dict[str, Any] = {"headers": headers, "params": dict(call.params)}
        if call.json is not None:
            request["json"] = call.json
        return request

    def _read(self, call: calls.Call[T], response: httpx.Response) -> T:
        if response.status_code == 503 and "Retry-After" in response.headers:
            raise Busy(response)
        if response.is_error and response.status_code not in call.accept:
            raise MemoryServiceError.from_response(response)
        return call.parse(response.json())

    def _failed(self, call: calls.Call[Any], error: Exception) -> Exception:
        where = f"{call.method} {self.url}{call.path}"
        if isinstance(error, Busy):
            return MemoryServiceError.from_response(error.response)
        if isinstance(error, httpx.TimeoutException) and not isinstance(
            error, httpx.ConnectTimeout | httpx.PoolTimeout
        ):
            return MemoryTimeout(
                f"{where}: no answer within {self.timeout_s} s; it may have been applied "
                f"(raise timeout_s for slow calls)"
            )
        return MemoryConnectionError(
            f"{where}: could not reach the service after {self.retry.attempts} tries ({error!r}); "
            f"is `memory-system serve` running at {self.url}?"
        )


class MemoryClient(_Base):
    """A client of one memory-system service, as one agent (and, for ``/admin``, an operator).

    >>> with MemoryClient("http://127.0.0.1:8080", token="mst_...") as memory:
    ...     memory.remember("deploys freeze on Fridays")
    ...     print(memory.inject("when can I deploy?").block)
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
        transport: httpx.BaseTransport | None = None,
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
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MemoryClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self, call: calls.Call[T]) -> T:
        try:
            for attempt in retrying(self.retry, call.idempotent):
                with attempt:
                    response = self._http.request(call.method, call.path, **self._request(call))
                    return self._read(call, response)
        except (Busy, httpx.TransportError) as error:
            raise self._failed(call, error) from error
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    # Sessions and state
    def start_session(self) -> m.Session:
        return self._run(calls.start_session())

    def get_session(self, session_id: str) -> m.Session:
        return self._run(calls.get_session(session_id))

    def end_session(self, session_id: str) -> m.Session:
        return self._run(calls.end_session(session_id))

    def get_state(self, session_id: str) -> m.SessionState:
        return self._run(calls.get_state(session_id))

    def put_state(self, session_id: str, state: Mapping[str, Any], *, version: int) -> m.SessionState:
        return self._run(calls.put_state(session_id, state, version))

    def handoff(self, session_id: str, to_agent_id: str) -> m.Handoff:
        return self._run(calls.handoff(session_id, to_agent_id))

    # Memories
    def remember(self, content: str, **fields: Any) -> m.MemoryWrite:
        """Store a memory (``kind``, ``tier``, ``importance``, ``metadata``, ``session_id``, ...)."""
        return self._run(calls.remember(content, **fields))

    def remember_many(self, items: Sequence[Mapping[str, Any]]) -> m.BatchResult:
        return self._run(calls.remember_many(items))

    def list_memories(self, **filters: Any) -> m.MemoryPage:
        return self._run(calls.list_memories(**filters))

    def get_memory(self, memory_id: int) -> m.Memory:
        return self._run(calls.get_memory(memory_id))

    def update_memory(self, memory_id: int, **changes: Any) -> m.Memory:
        return self._run(calls.update_memory(memory_id, changes))

    def delete_memory(self, memory_id: int) -> int:
        return self._run(calls.delete_memory(memory_id))

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        filters: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> m.SearchResult:
        return self._run(calls.search(query, k, filters, session_id))

    def inject(self, query: str, **fields: Any) -> m.Injection:
        """The block to put in a prompt (``session_id``, ``token_budget``, ``format``, ``user_id``)."""
        return self._run(calls.inject(query, **fields))

    # Sharing
    def share(
        self,
        memory_id: int,
        agent_ids: Sequence[str] = (),
        *,
        namespace: bool = False,
        expires_at: str | None = None,
    ) -> m.Shares:
        return self._run(calls.share(memory_id, agent_ids, namespace, expires_at))

    def list_shares(self, memory_id: int) -> m.Shares:
        return self._run(calls.list_shares(memory_id))

    def revoke(self, memory_id: int, agent_ids: Sequence[str] = (), *, namespace: bool = False) -> m.Shares:
        return self._run(calls.revoke(memory_id, agent_ids, namespace))

    # Preferences and code patterns
    def set_preference(self, user_id: str, key: str, value: Any) -> m.Preference:
        return self._run(calls.set_preference(user_id, key, value))

    def get_preference(self, user_id: str, key: str) -> m.Preference:
        return self._run(calls.get_preference(user_id, key))

    def list_preferences(self, user_id: str) -> m.PreferenceList:
        return self._run(calls.list_preferences(user_id))

    def delete_preference(self, user_id: str, key: str) -> str:
        return self._run(calls.delete_preference(user_id, key))

    def put_code_pattern(self, language: str, name: str, **fields: Any) -> m.CodePattern:
        return self._run(calls.put_code_pattern(language, name, **fields))

    def get_code_pattern(self, pattern_id: int) -> m.CodePattern:
        return self._run(calls.get_code_pattern(pattern_id))

    def list_code_patterns(self, **filters: Any) -> m.CodePatternPage:
        return self._run(calls.list_code_patterns(**filters))

    def search_code_patterns(self, query: str, **filters: Any) -> m.CodePatternSearch:
        return self._run(calls.search_code_patterns(query, **filters))

    def delete_code_pattern(self, pattern_id: int) -> int:
        return self._run(calls.delete_code_pattern(pattern_id))

    # Entity memory
    def create_entities(self, entities: Sequence[Mapping[str, Any]]) -> list[m.Entity]:
        return self._run(calls.create_entities(entities))

    def get_entity(self, name: str) -> m.EntityDetail:
        return self._run(calls.get_entity(name))

    def delete_entities(self, names: Sequence[str]) -> int:
        return self._run(calls.delete_entities(names))

    def create_relations(self, relations: Sequence[Mapping[str, Any]]) -> list[m.Relation]:
        return self._run(calls.create_relations(relations))

    def add_observations(self, entity_name: str, contents: Sequence[str]) -> list[str]:
        return self._run(calls.add_observations(entity_name, contents))

    def read_graph(self) -> m.Graph:
        return self._run(calls.read_graph())

    def search_graph(self, query: str) -> m.Graph:
        return self._run(calls.search_graph(query))

    # Operations
    def ready(self) -> m.Readiness:
        return self._run(calls.ready())

    def feature_flags(self) -> dict[str, Any]:
        return self._run(calls.feature_flags())

    def feature_flag_stats(self) -> dict[str, Any]:
        return self._run(calls.feature_flag_stats())
