"""Shadow mode on a real database file: legacy answers unchanged, shadow runs measured,
nothing written, nothing cached, a full queue dropping samples instead of waiting."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from memory_system.core.config import ConfigError
from memory_system.core.metrics import REGISTRY
from memory_system.core.settings import Settings
from memory_system.memory.injection.injector import InjectionFlags, Injector, load_injection_config
from memory_system.memory.injection.shadow import ShadowRunner, overlap
from memory_system.runtime import Runtime
from memory_system.store.connection import connect

NS = "proj"
LEGACY = InjectionFlags(enhanced=False, tiers=True, sharing=False)
ENHANCED = InjectionFlags(enhanced=True, tiers=True, sharing=False)
TARGET = "The billing service deploys through the staging cluster before production."
QUERY = "how does billing deploy to staging?"
BUDGET = 200  # room for a few recent fillers on the legacy path, never for the oldest memory
KEYS = {
    "sample_rate",
    "runs",
    "dropped",
    "enhanced_p50_ms",
    "enhanced_p95_ms",
    "legacy_p50_ms",
    "legacy_p95_ms",
    "mean_overlap",
}


@pytest.fixture
def make_runtime(tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    from memory_system.ops import schema

    made: list[Runtime] = []

    def make(shadow_sample: float | None = None) -> Runtime:
        db = tmp_path / f"shadow{len(made)}.db"
        schema.migrate(db)
        settings = Settings(db_path=db, config_path=tmp_path / "absent.json", embedder="none")
        if shadow_sample is not None:
            settings.extra["injection"] = {"shadow_sample": shadow_sample}
        runtime = Runtime(settings)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def fill(runtime: Runtime) -> int:
    """The target first (the oldest memory: outside the legacy block), then 40 recent fillers
    that the query does not match; returns the target's id."""
    items = [{"content": TARGET, "tier": "long_term"}] + [
        {"content": f"Filler note {i}: the team reviewed lunch menus and weekend rota {i}."}
        for i in range(40)
    ]
    results = runtime.memories.create_batch(namespace=NS, agent_id="a1", items=items)
    return results[0].memory.id


def legacy(runtime: Runtime, injector: Injector | None = None, query: str = QUERY) -> Any:
    return (injector or runtime.injector).inject(
        agent_id="a1", namespace=NS, query=query, flags=LEGACY, token_budget=BUDGET, session_id="s1"
    )


def answer_bytes(result: Any) -> bytes:
    """The HTTP body, less ``took_ms``: a timing, different on every request with or without shadow."""
    body = result.to_dict()
    del body["took_ms"]
    return json.dumps(body).encode()


def count(name: str, labels: Mapping[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, dict(labels or {})) or 0.0


def test_the_answer_is_the_same_bytes_with_shadow_on_and_off(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(shadow_sample=1)
    fill(runtime)
    plain = Injector(runtime.injector.sources, config={}, rag_timeout_ms=runtime.settings.rag_timeout_ms)
    try:
        for query in (QUERY, "lunch menus", "anything at all"):
            shadowed = legacy(runtime, query=query)
            unshadowed = legacy(runtime, plain, query=query)
            assert shadowed.mode == unshadowed.mode == "legacy"
            assert answer_bytes(shadowed) == answer_bytes(unshadowed)
    finally:
        plain.close()
    assert runtime.shadow.wait_idle(30)
    assert runtime.shadow.stats()["runs"] == 3  # only the shadowed injector's answers


def test_shadow_runs_record_both_latencies_and_the_overlap(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(shadow_sample=1)
    target = fill(runtime)
    enhanced_before = count("memory_shadow_injection_latency_seconds_count", {"path": "enhanced"})
    legacy_before = count("memory_shadow_injection_latency_seconds_count", {"path": "legacy"})
    answers = [legacy(runtime) for _ in range(3)]
    assert all(target not in [m["id"] for m in a.manifest["memories"]] for a in answers)
    assert runtime.shadow.wait_idle(30)

    stats = runtime.shadow.stats()
    assert set(stats) == KEYS
    assert stats["sample_rate"] == 1.0 and stats["runs"] == 3 and stats["dropped"] == 0
    # The enhanced build found only the target, which the legacy block never holds: no overlap.
    assert stats["mean_overlap"] == 0.0
    assert stats["legacy_p50_ms"] in [a.took_ms for a in answers]
    assert stats["legacy_p95_ms"] == max(a.took_ms for a in answers)
    assert 0 < stats["enhanced_p50_ms"] <= stats["enhanced_p95_ms"]
    assert count("memory_shadow_injection_latency_seconds_count", {"path": "enhanced"}) == enhanced_before + 3
    assert count("memory_shadow_injection_latency_seconds_count", {"path": "legacy"}) == legacy_before + 3


def test_overlap_is_the_jaccard_of_the_memory_ids() -> None:
    def manifest(*ids: int) -> dict[str, Any]:
        return {"memories": [{"id": i} for i in ids], "entities": [{"name": "x"}]}

    assert overlap(manifest(1, 2, 3), manifest(2, 3, 4)) == 0.5
    assert overlap(manifest(1, 2), manifest(2, 1)) == 1.0
    assert overlap(manifest(1), manifest(2)) == 0.0
    assert overlap(manifest(), manifest()) == 1.0  # both without memories: nothing would change


def test_an_identical_answer_overlaps_fully(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(shadow_sample=1)
    runtime.memories.create_batch(namespace=NS, agent_id="a1", items=[{"content": TARGET}])
    legacy(runtime)
    assert runtime.shadow.wait_idle(30)
    assert runtime.shadow.stats()["mean_overlap"] == 1.0


def test_a_sample_rate_of_zero_runs_nothing(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()  # no shadow_sample: the default, 0
    fill(runtime)
    before = count("memory_shadow_injection_latency_seconds_count", {"path": "enhanced"})
    for _ in range(5):
        legacy(runtime)
    assert not runtime.shadow.offer(lambda: {}, legacy_manifest={}, legacy_ms=1.0)
    assert runtime.shadow.stats() == {
        "sample_rate": 0.0,
        "runs": 0,
        "dropped": 0,
        "enhanced_p50_ms": None,
        "enhanced_p95_ms": None,
        "legacy_p50_ms": None,
        "legacy_p95_ms": None,
        "mean_overlap": None,
    }
    assert count("memory_shadow_injection_latency_seconds_count", {"path": "enhanced"}) == before
    assert runtime.shadow._thread is None  # not even a thread at rate 0


def test_sessions_in_the_rollout_get_no_shadow_run(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(shadow_sample=1)
    fill(runtime)
    for query in (QUERY, "lunch menus"):
        result = runtime.injector.inject(
            agent_id="a1", namespace=NS, query=query, flags=ENHANCED, token_budget=BUDGET, session_id="s1"
        )
        assert result.mode == "enhanced"
    assert runtime.shadow.wait_idle(30)
    assert runtime.shadow.stats()["runs"] == 0


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read by a connection of its own."""
    conn = connect(path, read_only=True)
    try:
        # Virtual tables are read through their shadow tables, which are listed as tables too.
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            )
            if not r[0].startswith("sqlite_")
        ]
        # Sorted here: some tables have no rowid to order by (WITHOUT ROWID, full-text shadows).
        return {t: sorted((tuple(r) for r in conn.execute(f'SELECT * FROM "{t}"')), key=repr) for t in tables}
    finally:
        conn.close()


def _access(path: Path) -> dict[int, tuple[int, str | None]]:
    conn = connect(path, read_only=True)
    try:
        rows = conn.execute("SELECT id, access_count, last_accessed_at FROM memories")
        return {r[0]: (r[1], r[2]) for r in rows}
    finally:
        conn.close()


def test_shadow_runs_write_nothing_reinforce_nothing_and_cache_nothing(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(shadow_sample=1)
    target = fill(runtime)
    path = runtime.settings.db_path
    runtime.injector.flush()
    before, access_before = _dump(path), _access(path)
    enhanced_before = count("memory_injection_latency_seconds_count", {"mode": "enhanced", "cache": "miss"})

    answers = []
    for _ in range(3):
        answers.append(legacy(runtime))
        runtime.injector.flush()  # one batch per answer: a batch counts an id once
    assert runtime.shadow.wait_idle(30)
    runtime.injector.flush()
    assert runtime.shadow.stats()["runs"] == 3

    # Only the legacy answers' memories count an access, once per answer; the target, which
    # only the shadow's enhanced block held, none.
    shown = {m["id"] for a in answers for m in a.manifest["memories"]}
    assert shown and target not in shown
    access = _access(path)
    for memory_id, (accesses, last) in access.items():
        expected = access_before[memory_id][0] + (3 if memory_id in shown else 0)
        assert accesses == expected, memory_id
        if memory_id not in shown:
            assert last == access_before[memory_id][1]
    after = _dump(path)
    assert after.keys() == before.keys()
    for table in before:
        if table != "memories":
            assert after[table] == before[table], table
    assert len(after["memories"]) == len(before["memories"])
    assert runtime.injector.cache.stats()["entries"] == 0
    assert (runtime.injector.cache.hits, runtime.injector.cache.misses) == (0, 0)
    # Shadow builds stay out of the injection-latency histogram the alerts read.
    assert count("memory_injection_latency_seconds_count", {"mode": "enhanced", "cache": "miss"}) == (
        enhanced_before
    )


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    runner = ShadowRunner(1.0, queue_size=1)
    started, release = threading.Event(), threading.Event()

    def held() -> dict[str, Any]:
        started.set()
        assert release.wait(30)
        return {"memories": []}

    dropped_before = count("memory_shadow_dropped_total")
    try:
        assert runner.offer(held, legacy_manifest={"memories": []}, legacy_ms=1.0)
        assert started.wait(30)  # the thread holds the first sample
        assert runner.offer(lambda: {"memories": []}, legacy_manifest={"memories": []}, legacy_ms=2.0)
        # The queue (1) is full and the thread blocked until this test releases it: offers
        # still return at once, dropped.
        for _ in range(3):
            assert not runner.offer(lambda: {"memories": []}, legacy_manifest={}, legacy_ms=3.0)
        assert not release.is_set()
        assert runner.stats()["dropped"] == 3 and runner.stats()["runs"] == 0
        assert count("memory_shadow_dropped_total") == dropped_before + 3
    finally:
        release.set()
    assert runner.wait_idle(30)
    assert runner.stats()["runs"] == 2
    runner.close()


def test_a_failing_build_is_counted_and_the_thread_goes_on() -> None:
    runner = ShadowRunner(1.0)

    def broken() -> dict[str, Any]:
        raise RuntimeError("retrieval broke")

    failures_before = count("memory_shadow_failures_total")
    try:
        assert runner.offer(broken, legacy_manifest={}, legacy_ms=1.0)
        assert runner.offer(lambda: {"memories": []}, legacy_manifest={"memories": []}, legacy_ms=1.0)
        assert runner.wait_idle(30)
        assert runner.stats()["runs"] == 1 and runner.failed == 1
        assert count("memory_shadow_failures_total") == failures_before + 1
    finally:
        runner.close()


def test_close_skips_queued_samples_and_refuses_new_ones() -> None:
    runner = ShadowRunner(1.0, queue_size=4)
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def held() -> dict[str, Any]:
        started.set()
        assert release.wait(30)
        ran.append(1)
        return {}

    def queued() -> dict[str, Any]:
        ran.append(2)
        return {}

    assert runner.offer(held, legacy_manifest={}, legacy_ms=1.0)
    assert started.wait(30)
    assert runner.offer(queued, legacy_manifest={}, legacy_ms=1.0)
    closer = threading.Thread(target=runner.close)
    closer.start()
    release.set()
    closer.join(30)
    assert not closer.is_alive()
    assert ran == [1]  # the running sample finished, the queued one was skipped
    assert not runner.offer(queued, legacy_manifest={}, legacy_ms=1.0)
    assert runner._thread is not None and not runner._thread.is_alive()


def test_the_sample_rate_is_drawn_per_request() -> None:
    draws = iter([0.1, 0.3, 0.29, 0.9])
    runner = ShadowRunner(0.3, chance=lambda: next(draws))
    try:
        taken = [runner.offer(lambda: {}, legacy_manifest={}, legacy_ms=1.0) for _ in range(4)]
        assert taken == [True, False, True, False]
        assert runner.wait_idle(30) and runner.stats()["runs"] == 2
    finally:
        runner.close()


@pytest.mark.parametrize("value", [1.5, -0.1, True, "0.5", None, float("nan")])
def test_a_bad_shadow_sample_is_refused_naming_the_key(tmp_path: Path, value: object) -> None:
    settings = Settings(db_path=tmp_path / "m.db", config_path=tmp_path / "none.json")
    settings.extra["injection"] = {"shadow_sample": value}
    with pytest.raises(ConfigError, match=r"injection\.shadow_sample="):
        load_injection_config(settings)


@pytest.mark.parametrize("value", [0, 1, 0.25])
def test_a_fraction_is_accepted(tmp_path: Path, value: float) -> None:
    settings = Settings(db_path=tmp_path / "m.db", config_path=tmp_path / "none.json")
    settings.extra["injection"] = {"shadow_sample": value}
    assert load_injection_config(settings)["shadow_sample"] == value


@pytest.mark.parametrize("value", [1.5, -0.1, True])
def test_the_runner_refuses_a_rate_outside_0_to_1(value: float) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        ShadowRunner(value)
