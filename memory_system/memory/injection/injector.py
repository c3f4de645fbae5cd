"""Context injection: the memories an agent needs, packed into its token budget, fast.

Three paths, chosen per request:

- ``enhanced`` (``USE_ENHANCED_INJECTION`` on): user preferences, then memories found by the
  hybrid retrieval (full text + vectors) and ranked by relevance x tier x recency x
  importance (``ranking.py``), then code patterns and related entities of the knowledge
  graph. Answers are cached (``injection_cache.py``) under a key that changes with any
  memory write in the namespace.
- ``degraded``: the same, when the retrieval's vector step ran past its time budget
  (``Settings.rag_timeout_ms``) or failed: memories come from full text and recency alone.
  Counted in ``memory_rag_timeouts_total``; never cached, so the next request tries again.
- ``legacy`` (flag off): the Phase 1 entities of the namespace and the most recent
  memories; no retrieval, no ranking, no cache.

Every path packs into the budget with ``injection_block.py``: the block never counts more
than ``token_budget`` by the project's counter (``tokens.py``). Memories that made it into
the block are reinforced afterwards, in a background batch, off the request's path.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory_system.core.config import ConfigError
from memory_system.core.errors import ServiceError
from memory_system.core.logging import log_event
from memory_system.core.metrics import INJECTION_LATENCY, count_rag_timeout
from memory_system.core.settings_loader import read_config_file
from memory_system.core.validation import InvalidValue, check_text
from memory_system.memory.injection import ranking
from memory_system.memory.injection.block import (
    BlockBuilder,
    Item,
    add_memories,
    entity_item,
    manifest_of,
    plain,
    try_within,
)
from memory_system.memory.injection.cache import CacheKey, InjectionCache, normalise_query
from memory_system.memory.injection.reinforcer import BatchReinforcer
from memory_system.memory.injection.shadow import SHADOW_KEYS, ShadowRunner
from memory_system.memory.injection.token_count import TOKEN_COUNTER
from memory_system.memory.records.models import Memory
from memory_system.memory.retrieval.hybrid import MAX_QUERY_CHARS, PendingSearch  # what retrieval accepts
from memory_system.store.connection import Database
from memory_system.store.scope_versions import scope_version

if TYPE_CHECKING:
    from memory_system.memory.graph.entities import KnowledgeGraph
    from memory_system.memory.records.memories import MemoryService
    from memory_system.memory.retrieval.hybrid import Retrieval
    from memory_system.memory.sharing.grants import SharingService
    from memory_system.memory.typed.code_patterns import CodePatternStore
    from memory_system.memory.typed.preferences import PreferenceStore

__all__ = [
    "MAX_TOKEN_BUDGET",
    "InjectionError",
    "InjectionFlags",
    "InjectionResult",
    "InjectionSources",
    "Injector",
]

_log = logging.getLogger(__name__)

MAX_TOKEN_BUDGET = 32000
FORMATS = ("markdown", "json")
CANDIDATES = 40  # memories asked of retrieval; ranking re-orders them
LEGACY_RECENT = 50  # most recent memories the legacy path considers
PATTERNS = 5
ENTITIES = 8
# Shares of the budget code patterns and entities may take while memories still wait.
PATTERN_SHARE = 0.15
ENTITY_SHARE = 0.10


class InjectionError(ServiceError, ValueError):
    """Bad input; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class InjectionFlags:
    """The flag states of one request (evaluated by the caller, per session)."""

    enhanced: bool = True
    tiers: bool = True
    sharing: bool = False

    def key(self) -> tuple[tuple[str, bool], ...]:
        return (("enhanced", self.enhanced), ("tiers", self.tiers), ("sharing", self.sharing))


@dataclass(frozen=True)
class InjectionResult:
    block: str
    format: str
    mode: str  # enhanced | degraded | legacy
    cache: str  # hit | miss | bypass
    took_ms: float
    tokens: int
    token_budget: int
    manifest: dict[str, Any]
    retrieval: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "format": self.format,
            "mode": self.mode,
            "cache": self.cache,
            "took_ms": self.took_ms,
            "tokens": self.tokens,
            "token_budget": self.token_budget,
            "token_counter": TOKEN_COUNTER,
            "manifest": self.manifest,
            "retrieval": self.retrieval,
        }


def check_request(query: Any, token_budget: Any, fmt: Any) -> tuple[str, int, str]:
    if not isinstance(query, str) or not query.strip():
        raise InjectionError("query", "must be a non-empty string: the agent's current task or message")
    try:
        check_text(query, "query")
    except InvalidValue as exc:
        raise InjectionError(exc.field, exc.message) from None
    if len(query) > MAX_QUERY_CHARS:
        raise InjectionError(
            "query", f"is longer than {MAX_QUERY_CHARS} characters; send the task, not the transcript"
        )
    if (
        isinstance(token_budget, bool)
        or not isinstance(token_budget, int)
        or not 1 <= token_budget <= MAX_TOKEN_BUDGET
    ):
        raise InjectionError("token_budget", f"must be a whole number from 1 to {MAX_TOKEN_BUDGET}")
    if fmt not in FORMATS:
        raise InjectionError("format", "must be 'markdown' or 'json'")
    return query, token_budget, fmt


_CACHE_KEYS = {"cache_max_entries": (int, 1, 1_000_000), "cache_ttl_s": (float, 0.001, 86400.0)}


def load_injection_config(settings: Any) -> dict[str, Any]:
    """The ``injection`` section: ``Settings.extra["injection"]`` if set (tests, embedding
    callers), else the config file's. Unknown keys are refused, naming the key."""
    raw = settings.extra.get("injection")
    if raw is None and settings.config_path:
        raw = read_config_file(Path(settings.config_path)).get("injection")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError('injection: use an object, e.g. {"half_life_days": 30}')
    known = {f.name for f in fields(ranking.RankingConfig)} | set(_CACHE_KEYS) | set(SHADOW_KEYS)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"injection.{unknown[0]}: unknown key; known keys: {', '.join(sorted(known))}")
    for key, (kind, low, high) in {**_CACHE_KEYS, **SHADOW_KEYS}.items():
        if key in raw:
            value = raw[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value <= high
                or (kind is int and not isinstance(value, int))
            ):
                raise ConfigError(f"injection.{key}={value!r}: use a {kind.__name__} from {low} to {high}")
    ranking.RankingConfig.from_mapping(raw)  # the ranking keys' ranges, checked now rather than at first use
    return dict(raw)


_WORD = re.compile(r"[^\W_][\w\-.']*", re.UNICODE)


@dataclass(frozen=True)
class InjectionSources:
    """What a block is packed from: the services injection reads, handed in by the runtime.

    ``retrieval`` is a callable because building it loads the embedding model: the legacy path
    and cache hits never need it, so a service with the flag off never pays for the model.
    """

    db: Database
    memories: MemoryService
    sharing: SharingService
    graph: KnowledgeGraph
    preferences: PreferenceStore
    code_patterns: CodePatternStore
    retrieval: Callable[[], Retrieval]


class Injector:
    """``runtime.injector`` (the runtime wires its sources). Usage::

    result = runtime.injector.inject(agent_id="a1", namespace="proj", query="fix the login bug",
                                     token_budget=800, flags=InjectionFlags(enhanced=True))
    prompt = result.block + "\\n\\n" + task
    """

    def __init__(
        self,
        sources: InjectionSources,
        *,
        config: Mapping[str, Any],
        rag_timeout_ms: float,
        cache: InjectionCache | None = None,
        shadow: ShadowRunner | None = None,
    ) -> None:
        """``config``: the ``injection`` section (``load_injection_config``); ``rag_timeout_ms``:
        how long the dense step may take before the block is built from full text alone;
        ``shadow``: offered every legacy answer (``shadow.py``), its owner closes it."""
        self.shadow = shadow
        self.sources = sources
        self.rag_timeout_ms = rag_timeout_ms
        self.config = ranking.RankingConfig.from_mapping(config)
        self.cache = cache or InjectionCache(
            max_entries=int(config.get("cache_max_entries", 1024)),
            ttl_s=float(config.get("cache_ttl_s", 30.0)),
        )
        self._reinforcer = BatchReinforcer(self._reinforce)

    def close(self) -> None:
        """Stop the background reinforcement (pending ids are applied first)."""
        self._reinforcer.close()

    def _reinforce(self, ids: Sequence[int]) -> None:
        self.sources.memories.reinforce(ids)

    def flush(self) -> None:
        """Apply pending reinforcements now (tests; the background batch does it otherwise)."""
        self._reinforcer.flush()

    # --- the request ---------------------------------------------------------------------

    def inject(
        self,
        *,
        agent_id: str,
        namespace: str,
        query: str,
        flags: InjectionFlags,
        session_id: str | None = None,
        token_budget: int = 1000,
        format: str = "markdown",
        user_id: str | None = None,
        key: CacheKey | None = None,
    ) -> InjectionResult:
        """``key``: this request's ``cache_key``, when the caller has it already."""
        started = time.perf_counter()
        query, token_budget, format = check_request(query, token_budget, format)
        if not flags.enhanced:
            result = self._legacy(agent_id, namespace, token_budget, format, flags)
        else:
            key = key or self._key(
                agent_id, namespace, query, flags, session_id, token_budget, format, user_id
            )
            cached = self.cache.get(key)
            if cached is not None:
                result = replace(cached, cache="hit")
            else:
                result, ttl_s = self._enhanced(
                    agent_id, namespace, session_id, user_id, query, token_budget, format, flags
                )
                if result.mode == "enhanced":
                    self.cache.put(key, result, ttl_s)
        result = self._finish(result, started)
        if not flags.enhanced and self.shadow is not None:
            # The enhanced cache-miss build of this very request, off its path: no cache, no
            # reinforcement (those are inject's and _finish's), the answer already made.
            enhanced = replace(flags, enhanced=True)
            self.shadow.offer(
                lambda: self._enhanced(
                    agent_id, namespace, session_id, user_id, query, token_budget, format, enhanced
                )[0].manifest,
                legacy_manifest=result.manifest,
                legacy_ms=result.took_ms,
            )
        return result

    def lookup(
        self,
        *,
        agent_id: str,
        namespace: str,
        query: str,
        flags: InjectionFlags,
        session_id: str | None = None,
        token_budget: int = 1000,
        format: str = "markdown",
        user_id: str | None = None,
        key: CacheKey | None = None,
    ) -> InjectionResult | None:
        """The cached answer, or None (a miss is not counted: ``inject`` counts it). Cheap and
        non-blocking, so the HTTP layer answers hits on its event loop without a thread hop.
        ``key``: this request's ``cache_key``, when the caller has it already."""
        started = time.perf_counter()
        query, token_budget, format = check_request(query, token_budget, format)
        if not flags.enhanced:
            return None
        key = key or self._key(agent_id, namespace, query, flags, session_id, token_budget, format, user_id)
        cached = self.cache.get(key, count_miss=False)
        return None if cached is None else self._finish(replace(cached, cache="hit"), started)

    def cache_key(
        self,
        *,
        agent_id: str,
        namespace: str,
        query: str,
        flags: InjectionFlags,
        session_id: str | None = None,
        token_budget: int = 1000,
        format: str = "markdown",
        user_id: str | None = None,
    ) -> CacheKey | None:
        """The request's cache key (one read of the namespace's scope version), None on the
        legacy path (never cached). Pass it to ``lookup`` and then ``inject`` so that a miss
        reads it once, not twice."""
        query, token_budget, format = check_request(query, token_budget, format)
        if not flags.enhanced:
            return None
        return self._key(agent_id, namespace, query, flags, session_id, token_budget, format, user_id)

    def _key(
        self,
        agent_id: str,
        namespace: str,
        query: str,
        flags: InjectionFlags,
        session_id: str | None,
        token_budget: int,
        format: str,
        user_id: str | None,
    ) -> CacheKey:
        return CacheKey(
            namespace=namespace,
            agent_id=agent_id,
            flags=flags.key(),
            user_id=user_id,
            query=normalise_query(query),
            token_budget=token_budget,
            format=format,
            scope_version=scope_version(self.sources.db.reader(), namespace),
            session_id=session_id,
        )

    def _finish(self, result: InjectionResult, started: float) -> InjectionResult:
        took_ms = round((time.perf_counter() - started) * 1000, 3)
        result = replace(result, took_ms=took_ms)
        INJECTION_LATENCY.labels(mode=result.mode, cache=result.cache).observe(took_ms / 1000)
        self._reinforcer.submit([m["id"] for m in result.manifest.get("memories", [])])
        return result

    # --- enhanced and degraded -----------------------------------------------------------

    def _enhanced(
        self,
        agent_id: str,
        namespace: str,
        session_id: str | None,
        user_id: str | None,
        query: str,
        budget: int,
        fmt: str,
        flags: InjectionFlags,
    ) -> tuple[InjectionResult, float | None]:
        pending = self._begin_search(agent_id, namespace, query, flags)
        # While the query is embedded (the dense step's thread): the other sections.
        preferences = self._preference_items(namespace, user_id)
        patterns = self._pattern_items(namespace, query)
        entities = self._entity_items(namespace, query)
        search = self._search_result(pending, agent_id, namespace, flags)
        mode = "degraded" if search["degraded"] else "enhanced"
        builder = BlockBuilder(fmt, budget)
        for item in preferences:
            builder.try_add(item)
        memories = self._rank(search["hits"], session_id, flags)
        pattern_cap = builder.used + int(budget * PATTERN_SHARE)
        for item in patterns:
            if builder.used + 1 > pattern_cap:
                break
            try_within(builder, item, pattern_cap)
        entity_cap = builder.used + int(budget * ENTITY_SHARE)
        for item in entities:
            try_within(builder, item, entity_cap)
        add_memories(builder, memories, flags.tiers)
        added = {id(i) for i in builder.added}
        for item in [*patterns, *entities]:
            if id(item) not in added:
                builder.try_add(item)
        block, items, tokens = builder.render()
        manifest = manifest_of(items)
        result = InjectionResult(
            block=block,
            format=fmt,
            mode=mode,
            cache="miss",
            took_ms=0.0,
            tokens=tokens,
            token_budget=budget,
            manifest=manifest,
            retrieval=search["info"],
        )
        return result, self._cache_ttl(items, agent_id, namespace, flags)

    def _cache_ttl(
        self, items: list[Item], agent_id: str, namespace: str, flags: InjectionFlags
    ) -> float | None:
        """Seconds until a memory in the block expires or stops being shared with the caller."""
        ends = [i.manifest["_expires_at"] for i in items if i.manifest.get("_expires_at")]
        others = [
            i.manifest["id"]
            for i in items
            if i.section == "memories" and i.manifest.get("_agent_id") != agent_id
        ]
        if flags.sharing and others:
            until = self.sources.sharing.visible_until(others, agent_id=agent_id, namespace=namespace)
            if until:
                ends.append(until)
        if not ends:
            return None
        moment = datetime.fromisoformat(min(ends))  # 3.11+ reads the "Z"
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())

    def _begin_search(
        self, agent_id: str, namespace: str, query: str, flags: InjectionFlags
    ) -> PendingSearch | Exception:
        """Hybrid retrieval started within the RAG time budget (or why it could not start)."""
        try:
            return self.sources.retrieval().begin(
                namespace=namespace,
                agent_id=agent_id,
                query=query,
                k=CANDIDATES,
                sharing_enabled=flags.sharing,
                tiers_enabled=flags.tiers,
                time_budget_ms=self.rag_timeout_ms,
            )
        except Exception as exc:  # noqa: BLE001 - handed on: _search_result answers from recency
            return exc

    def _search_result(
        self, pending: PendingSearch | Exception, agent_id: str, namespace: str, flags: InjectionFlags
    ) -> dict[str, Any]:
        """The retrieval's answer; full text + recency when retrieval itself broke."""
        try:
            if isinstance(pending, Exception):
                raise pending
            return _read_search(pending.result())
        except Exception as exc:  # noqa: BLE001 - retrieval broke, any cause: answer from recency, say so
            count_rag_timeout("error")
            log_event(_log, "injection_retrieval_failed", level=logging.WARNING, error=type(exc).__name__)
            recent = self._recent(agent_id, namespace, flags, LEGACY_RECENT)
            hits: list[tuple[Memory, float, dict[str, float]]] = [(m, 0.0, {}) for m in recent]
            return {
                "hits": hits,
                "degraded": True,
                "info": {
                    "mode": "recency",
                    "degraded": True,
                    "reason": f"retrieval failed: {type(exc).__name__}",
                },
            }

    def _rank(
        self,
        hits: list[tuple[Memory, float, dict[str, float]]],
        session_id: str | None,
        flags: InjectionFlags,
    ) -> list[tuple[Memory, float, float, dict[str, float]]]:
        now = datetime.now(UTC)
        config = self.config if flags.tiers else self.config.flat()
        best = max((score for _, score, _ in hits), default=0.0)
        ranked = []
        for position, (memory, raw, scores) in enumerate(hits):
            if flags.tiers and memory.tier == "working" and memory.session_id != session_id:
                continue  # another session's scratch context
            # No score (recency fallback): keep the given order with a gently falling relevance.
            relevance = raw / best if best > 0 else 1.0 / (1 + position * 0.05)
            last_used = max(memory.updated_at, memory.last_accessed_at or "")
            total = ranking.score(
                relevance=relevance,
                tier=memory.tier,
                age=ranking.age_days(last_used, now),
                importance=memory.importance,
                config=config,
                tiers_enabled=flags.tiers,
            )
            ranked.append((memory, total, relevance, scores))
        ranked.sort(key=lambda r: (-r[1], -r[0].id))
        return ranked

    # --- legacy --------------------------------------------------------------------------

    def _legacy(
        self, agent_id: str, namespace: str, budget: int, fmt: str, flags: InjectionFlags
    ) -> InjectionResult:
        builder = BlockBuilder(fmt, budget)
        entities, _next_offset = self.sources.graph.list_entities(namespace, limit=ENTITIES)
        entity_items = [entity_item(e) for e in entities]
        entity_cap = builder.used + int(budget * 0.3)
        for item in entity_items:
            try_within(builder, item, entity_cap)
        recent = self._recent(agent_id, namespace, flags, LEGACY_RECENT)
        add_memories(builder, [(m, 0.0, 0.0, {}) for m in recent], flags.tiers)
        added = {id(i) for i in builder.added}
        for item in entity_items:
            if id(item) not in added:
                builder.try_add(item)
        block, items, tokens = builder.render()
        return InjectionResult(
            block=block,
            format=fmt,
            mode="legacy",
            cache="bypass",
            took_ms=0.0,
            tokens=tokens,
            token_budget=budget,
            manifest=manifest_of(items),
            retrieval={"mode": "none", "degraded": False},
        )

    def _recent(self, agent_id: str, namespace: str, flags: InjectionFlags, limit: int) -> list[Memory]:
        page = self.sources.memories.list(
            namespace=namespace,
            agent_id=agent_id,
            sharing_enabled=flags.sharing,
            tiers_enabled=flags.tiers,
            limit=limit,
        )
        return list(page.items)

    # --- typed stores and the graph ------------------------------------------------------

    def _preference_items(self, namespace: str, user_id: str | None) -> list[Item]:
        if not user_id:
            return []
        prefs = self.sources.preferences.list(namespace=namespace, user_id=user_id)
        pairs = ((p.key, p.value) for p in prefs)
        return [
            Item("preferences", f"- {key}: {plain(value)}", value, {"key": key}, json_key=key)
            for key, value in sorted(pairs)
        ]

    def _pattern_items(self, namespace: str, query: str) -> list[Item]:
        try:
            found = self.sources.code_patterns.search(namespace=namespace, query=query, limit=PATTERNS)
        except Exception:  # noqa: BLE001 - patterns are an extra: never fail the injection
            log_event(_log, "injection_code_patterns_failed", level=logging.WARNING, exc_info=True)
            return []
        items = []
        for p in found:
            text = f"- **{p.name}** ({p.language}): {p.description}".rstrip(": ")
            if p.example:
                text += (
                    f"\n  ```{p.language}\n"
                    + "\n".join("  " + ln for ln in p.example.splitlines())
                    + "\n  ```"
                )
            value = {
                "id": p.id,
                "language": p.language,
                "name": p.name,
                "description": p.description,
                "example": p.example,
            }
            items.append(Item("code_patterns", text, value, {"id": p.id, "name": p.name}))
        return items

    def _entity_items(self, namespace: str, query: str) -> list[Item]:
        graph = self.sources.graph
        seen: dict[str, Any] = {}
        words = _WORD.findall(query)
        grams = {" ".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)}
        candidates = sorted(grams | {g.lower() for g in grams} | {g.title() for g in grams})
        for entity in graph.open_nodes(candidates[:500], namespace).entities:
            seen.setdefault(entity.name, entity)
        for word in sorted({w for w in words if len(w) >= 4}, key=len, reverse=True)[:3]:
            if len(seen) >= ENTITIES:
                break
            # The same entities in the same order as search_nodes, without loading the
            # relations it would return (benchmarks/entities.py: 3.8 -> 1.7 ms p50 per miss).
            for entity in graph.list_entities(namespace, query=word, limit=ENTITIES)[0]:
                seen.setdefault(entity.name, entity)
        return [entity_item(e) for e in list(seen.values())[:ENTITIES]]


def _read_search(found: Any) -> dict[str, Any]:
    """The retrieval result as (memory, fused score, per-source scores) + what happened."""
    hits = [(hit.memory, float(hit.score), dict(hit.scores)) for hit in found.hits]
    degraded = found.mode == "degraded"
    info: dict[str, Any] = {
        "mode": found.mode,
        "degraded": degraded,
        "reason": found.reason,
        "sources": list(found.sources),
        "vectors_stale": found.vectors_stale,
    }
    return {"hits": hits, "degraded": degraded, "info": info}
