"""The injector against a real database file and the real model: sections and their order,
the budget over random inputs, the cache and its invalidation, reinforcement, the legacy
path, the degraded path with a real slow or failing embedder, and isolation between agents."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from memory_system.core.metrics import RAG_TIMEOUTS
from memory_system.core.settings import Settings
from memory_system.memory.injection.injector import InjectionError, InjectionFlags
from memory_system.memory.injection.token_count import count_tokens
from memory_system.runtime import Runtime

NS = "proj"
ON = InjectionFlags(enhanced=True, tiers=True, sharing=False)
FACTS = [
    ("We deploy the billing service through the staging cluster before production.", "long_term", 0.9),
    ("The login page times out when the auth token cache is cold.", "short_term", 0.6),
    ("Use pytest fixtures with real SQLite files, never mocks of the database.", "long_term", 0.7),
    ("Lunch order: the team likes the Thai place on Fridays.", "short_term", 0.2),
    ("Postgres upgrade to 16 is planned for the next quarter.", "short_term", 0.5),
]


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    from memory_system.ops import schema

    made: list[Runtime] = []

    def make(**overrides: Any) -> Runtime:
        db = tmp_path / f"inj{len(made)}.db"
        schema.migrate(db)
        # A generous RAG budget: on a busy 2-core machine a cold first query can take > 50 ms;
        # the degraded-path tests set their own.
        settings = Settings(db_path=db, config_path=tmp_path / "absent.json", rag_timeout_ms=30_000.0)
        for key, value in overrides.items():
            setattr(settings, key, value)
        runtime = Runtime(settings)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def add(runtime: Runtime, items: list[dict[str, Any]], agent: str = "a1", wait: bool = True) -> list[int]:
    results = runtime.memories.create_batch(namespace=NS, agent_id=agent, items=items)
    if wait and runtime.retrieval.worker is not None:
        assert runtime.retrieval.worker.wait_idle(60)
    return [r.memory.id for r in results]


def facts(runtime: Runtime, agent: str = "a1") -> list[int]:
    return add(runtime, [{"content": c, "tier": t, "importance": i} for c, t, i in FACTS], agent)


def inject(runtime: Runtime, query: str, flags: InjectionFlags = ON, agent: str = "a1", **kw: Any) -> Any:
    return runtime.injector.inject(agent_id=agent, namespace=NS, query=query, flags=flags, **kw)


def test_enhanced_block_has_sections_in_order_within_budget(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    facts(runtime)
    runtime.preferences.put(NS, "u1", "answer_style", "terse, with code", agent_id="a1")
    runtime.code_patterns.put(
        NS,
        "a1",
        {
            "language": "python",
            "name": "deploy helper",
            "description": "wraps the staging deploy",
            "example": "deploy(env)",
        },
    )
    runtime.graph.create_entities([_entity("Billing", "service", ["deployed via staging"])], NS)
    result = inject(runtime, "how do we deploy the Billing service?", user_id="u1")
    assert result.mode == "enhanced" and result.cache == "miss"
    assert result.retrieval["mode"] == "hybrid"
    headings = [ln for ln in result.block.splitlines() if ln.startswith("#")]
    assert headings[0] == "## User preferences"
    assert (
        headings.index("## Relevant memories")
        < headings.index("## Code patterns")
        < headings.index("## Related entities")
    )
    assert "### Long-term" in headings
    assert "staging cluster" in result.block.split("## Code patterns")[0]
    top = result.manifest["memories"][0]
    assert (
        "staging"
        in runtime.memories.get(top["id"], namespace=NS, agent_id="a1", sharing_enabled=False).content
    )
    assert (top["score"] > 0 and "fulltext" in top["scores"]) or "dense" in top["scores"]
    assert result.manifest["preferences"] == [{"key": "answer_style"}]
    assert result.manifest["entities"] == [{"name": "Billing"}]
    assert result.tokens == count_tokens(result.block) <= result.token_budget == 1000
    assert result.took_ms > 0


def _entity(name: str, kind: str, observations: list[str]) -> Any:
    from memory_system.memory.graph.entities import Entity

    return Entity(name, kind, tuple(observations))


def test_scores_rank_memories_and_manifest_lists_what_the_block_shows(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    facts(runtime)
    result = inject(runtime, "postgres upgrade plan")
    scores = [m["score"] for m in result.manifest["memories"]]
    assert scores and all(s > 0 for s in scores)
    memories = {
        m.id: m
        for m in runtime.memories.list(
            namespace=NS, agent_id="a1", sharing_enabled=False, tiers_enabled=True
        ).items
    }
    for entry in result.manifest["memories"]:
        assert memories[entry["id"]].content in result.block
    assert memories[result.manifest["memories"][0]["id"]].content.startswith("Postgres upgrade")


def test_block_never_exceeds_the_budget_over_random_inputs(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    rng = random.Random(5)
    words = (
        "deploy staging login token cache postgres pytest lunch quarter über 漢字 {json} 2024-05-01".split()
    )
    items = [
        {
            "content": " ".join(rng.choice(words) for _ in range(rng.randint(1, 150))) + f" #{i}",
            "tier": rng.choice(["long_term", "short_term"]),
            "importance": rng.random(),
        }
        for i in range(40)
    ]
    add(runtime, items)
    runtime.preferences.put(NS, "u1", "style", "x " * 300, agent_id="a1")
    for case in range(40):
        budget = rng.choice([1, 3, 10, 40, 120, 500, rng.randint(1, 4000)])
        fmt = rng.choice(["markdown", "json"])
        flags = InjectionFlags(enhanced=rng.random() < 0.7, tiers=rng.random() < 0.5)
        result = inject(
            runtime,
            " ".join(rng.sample(words, 3)) + f" {case}",
            flags=flags,
            token_budget=budget,
            format=fmt,
            user_id="u1",
        )
        assert result.tokens == count_tokens(result.block) <= budget, (case, budget, fmt)
        if fmt == "json" and result.block:
            json.loads(result.block)


def test_cache_hits_the_same_request_and_a_new_memory_is_never_hidden(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    facts(runtime)
    first = inject(runtime, "what is planned for postgres?")
    again = inject(runtime, "  What is planned for POSTGRES?  ")
    assert (first.cache, again.cache) == ("miss", "hit")
    assert again.block == first.block and again.manifest == first.manifest
    (new_id,) = add(
        runtime,
        [
            {
                "content": "Postgres 17 replaces the planned 16 upgrade; decided today.",
                "tier": "long_term",
                "importance": 0.9,
            }
        ],
    )
    after = inject(runtime, "what is planned for postgres?")
    assert after.cache == "miss"
    assert new_id in [m["id"] for m in after.manifest["memories"]]
    assert "Postgres 17" in after.block
    assert runtime.injector.cache.stats()["hits"] == 1


def test_a_preference_change_is_never_hidden_by_the_cache(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    facts(runtime)
    runtime.preferences.put(NS, "u1", "tone", "formal", agent_id="a1")
    assert "formal" in inject(runtime, "deploy billing", user_id="u1").block
    runtime.preferences.put(NS, "u1", "tone", "casual", agent_id="a1")
    result = inject(runtime, "deploy billing", user_id="u1")
    assert result.cache == "miss" and "casual" in result.block


def test_injected_memories_are_reinforced(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    facts(runtime)
    result = inject(runtime, "login page timeout")
    runtime.injector.flush()
    used = {m["id"] for m in result.manifest["memories"]}
    counts = {
        m.id: m.access_count
        for m in runtime.memories.list(
            namespace=NS, agent_id="a1", sharing_enabled=False, tiers_enabled=True
        ).items
    }
    assert used and all(counts[i] == 1 for i in used)
    assert all(counts[i] == 0 for i in set(counts) - used)
    inject(runtime, "login page timeout")  # a cache hit is an injection too
    runtime.injector.flush()
    after = {
        m.id: m.access_count
        for m in runtime.memories.list(
            namespace=NS, agent_id="a1", sharing_enabled=False, tiers_enabled=True
        ).items
    }
    assert all(after[i] == 2 for i in used)


def test_tiers_off_gives_one_flat_section(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    facts(runtime)
    flat = InjectionFlags(enhanced=True, tiers=False)
    result = inject(runtime, "deploy staging login postgres", flags=flat)
    assert "## Relevant memories" in result.block and "###" not in result.block
    as_json = json.loads(inject(runtime, "deploy staging login postgres", flags=flat, format="json").block)
    assert isinstance(as_json["memories"], list)
    tiered = json.loads(inject(runtime, "deploy staging login postgres", format="json").block)
    assert set(tiered["memories"]) <= {"long_term", "short_term", "working"}


def test_working_memories_of_other_sessions_stay_out(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    add(
        runtime,
        [
            {"content": "scratch: retry the flaky deploy step", "session_id": "s1"},
            {"content": "scratch: deploy notes for the other task", "session_id": "s2"},
        ],
    )
    result = inject(runtime, "deploy scratch notes", session_id="s1")
    assert "retry the flaky deploy" in result.block and "other task" not in result.block
    assert "### Working (this session)" in result.block


def test_legacy_path_recent_memories_and_entities_no_cache(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    ids = facts(runtime)
    runtime.graph.create_entities([_entity("Billing", "service", ["owned by payments"])], NS)
    legacy = InjectionFlags(enhanced=False)
    first = inject(runtime, "anything at all", flags=legacy)
    second = inject(runtime, "anything at all", flags=legacy)
    assert (first.mode, first.cache, second.cache) == ("legacy", "bypass", "bypass")
    assert first.retrieval == {"mode": "none", "degraded": False}
    assert "**Billing** (service)" in first.block
    assert [m["id"] for m in first.manifest["memories"]] == sorted(ids, reverse=True)  # newest first
    assert all(m["score"] == 0 for m in first.manifest["memories"])
    assert runtime.injector.cache.stats()["entries"] == 0


@pytest.mark.parametrize("embedder", ["slow:400", "failing"])
def test_slow_or_failing_model_degrades_to_full_text(
    make_runtime: Callable[..., Runtime], embedder: str
) -> None:
    runtime = make_runtime(embedder=embedder, rag_timeout_ms=50.0)
    add(runtime, [{"content": c, "tier": t, "importance": i} for c, t, i in FACTS], wait=False)
    before = sum(RAG_TIMEOUTS.labels(reason=r)._value.get() for r in ("timeout", "error", "busy"))
    result = inject(runtime, "postgres upgrade quarter")
    assert result.mode == "degraded" and result.retrieval["degraded"] is True
    assert result.retrieval["reason"]
    assert "Postgres upgrade to 16" in result.block  # found by full text
    after = sum(RAG_TIMEOUTS.labels(reason=r)._value.get() for r in ("timeout", "error", "busy"))
    assert after - before == 1
    if embedder.startswith("slow"):
        assert result.took_ms < 400  # the request did not wait for the model
    again = inject(runtime, "postgres upgrade quarter")
    assert again.cache == "miss"  # degraded answers are not cached


def test_another_agents_private_memory_never_injected(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    (secret,) = add(runtime, [{"content": "The postgres admin password rotates on Mondays."}], agent="other")
    facts(runtime)
    for flags in (
        ON,
        InjectionFlags(enhanced=True, sharing=True),
        InjectionFlags(enhanced=False),
        InjectionFlags(enhanced=False, sharing=True),
    ):
        result = inject(runtime, "postgres admin password", flags=flags)
        assert secret not in [m["id"] for m in result.manifest["memories"]]
        assert "password" not in result.block


def test_a_memory_shared_with_the_caller_is_injected(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    (shared,) = add(runtime, [{"content": "The postgres replica lives in zone b."}], agent="other")
    runtime.sharing.share(shared, agent_id="other", namespace=NS, grantees=["a1"])
    sharing = InjectionFlags(enhanced=True, sharing=True)
    assert shared in [
        m["id"] for m in inject(runtime, "postgres replica zone", flags=sharing).manifest["memories"]
    ]
    assert shared not in [m["id"] for m in inject(runtime, "postgres replica zone").manifest["memories"]]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"token_budget": 0}, "token_budget"),
        ({"token_budget": 32001}, "token_budget"),
        ({"token_budget": True}, "token_budget"),
        ({"format": "html"}, "format"),
        ({"query": "  "}, "query"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    make_runtime: Callable[..., Runtime], kwargs: dict[str, Any], field: str
) -> None:
    runtime = make_runtime()
    facts(runtime)
    args = {"query": "deploy", **kwargs}
    with pytest.raises(InjectionError, match=field):
        runtime.injector.inject(agent_id="a1", namespace=NS, flags=ON, **args)
    runtime.injector.flush()
    assert runtime.injector.cache.stats()["entries"] == 0
    assert all(
        m.access_count == 0
        for m in runtime.memories.list(
            namespace=NS, agent_id="a1", sharing_enabled=False, tiers_enabled=True
        ).items
    )


def test_cache_entry_ends_when_a_memory_in_it_expires(make_runtime: Callable[..., Runtime]) -> None:
    from datetime import UTC, datetime, timedelta

    runtime = make_runtime()
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    add(runtime, [{"content": "The postgres maintenance window is tonight.", "expires_at": soon}])
    inject(runtime, "postgres maintenance window")
    cache = runtime.injector.cache
    ((deadline, _),) = cache._entries.values()
    assert deadline - cache._clock() <= 3.0


def test_config_file_injection_section_is_read_strictly(
    make_runtime: Callable[..., Runtime], tmp_path: Path
) -> None:
    from memory_system.core.config import ConfigError

    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"injection": {"half_life_days": 7, "cache_ttl_s": 5, "tier_weights": {"working": 1.5}}})
    )
    runtime = make_runtime(config_path=config)
    assert runtime.injector.config.half_life_days == 7
    assert runtime.injector.config.tier_weights["working"] == 1.5
    assert runtime.injector.cache.ttl_s == 5
    config.write_text(json.dumps({"injection": {"half_lif_days": 7}}))
    with pytest.raises(ConfigError, match="injection.half_lif_days"):
        _ = make_runtime(config_path=config).injector


def test_lookup_answers_only_from_the_cache(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    facts(runtime)
    injector = runtime.injector
    args = {"agent_id": "a1", "namespace": NS, "query": "postgres upgrade", "flags": ON}
    assert injector.lookup(**args) is None  # type: ignore[arg-type]
    assert injector.cache.stats()["misses"] == 0
    first = injector.inject(**args)  # type: ignore[arg-type]
    hit = injector.lookup(**args)  # type: ignore[arg-type]
    assert hit is not None and hit.cache == "hit" and hit.block == first.block
    assert injector.lookup(**{**args, "flags": InjectionFlags(enhanced=False)}) is None  # type: ignore[arg-type]
    with pytest.raises(InjectionError, match="token_budget"):
        injector.lookup(**args, token_budget=0)  # type: ignore[arg-type]


def test_cache_key_read_once_serves_lookup_and_inject(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    facts(runtime)
    injector = runtime.injector
    args = {"agent_id": "a1", "namespace": NS, "query": "postgres upgrade", "flags": ON}
    key = injector.cache_key(**args)  # type: ignore[arg-type]
    assert key is not None and key.query == "postgres upgrade"
    assert injector.lookup(**args, key=key) is None  # type: ignore[arg-type]
    first = injector.inject(**args, key=key)  # type: ignore[arg-type]
    assert first.cache == "miss"
    hit = injector.lookup(**args)  # type: ignore[arg-type]
    assert hit is not None and hit.block == first.block  # stored under the same key as a fresh read
    assert injector.cache_key(**{**args, "flags": InjectionFlags(enhanced=False)}) is None  # type: ignore[arg-type]
    with pytest.raises(InjectionError, match="token_budget"):
        injector.cache_key(**args, token_budget=0)  # type: ignore[arg-type]


def test_when_retrieval_itself_fails_injection_answers_from_recency(
    make_runtime: Callable[..., Runtime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memory_system.memory.retrieval import text_index

    monkeypatch.setattr(text_index, "SMALL_NAMESPACE", 0)  # the first search goes to FTS5
    runtime = make_runtime(embedder="none")
    ids = facts(runtime)
    with runtime.db.write() as conn:  # a broken full-text index: FTS5 queries raise
        conn.execute("DROP TABLE memories_fts")
    before = RAG_TIMEOUTS.labels(reason="error")._value.get()
    result = inject(runtime, "which database do we use?")
    assert result.mode == "degraded" and result.retrieval["mode"] == "recency"
    assert {m["id"] for m in result.manifest["memories"]} <= set(ids) and result.manifest["memories"]
    assert RAG_TIMEOUTS.labels(reason="error")._value.get() == before + 1
