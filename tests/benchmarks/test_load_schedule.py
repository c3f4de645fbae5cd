"""benchmarks/_load_schedule.py and _load_stats.py: the load generator's schedule is the mix it
claims (shares, repeats, fresh questions, session rotations), fixed by its seed, and the
figures computed from its records count errors and percentiles as the reports say."""

from __future__ import annotations

import importlib
import itertools
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
schedule: Any = importlib.import_module("_load_schedule")
stats: Any = importlib.import_module("_load_stats")

QUESTIONS = [f"question {i}" for i in range(50)]
BASES = [f"base text {i}" for i in range(20)]


def workload(**kw: Any) -> Any:
    return schedule.Workload(
        agents=10,
        mix=schedule.parse_mix("inject=70,write=20,search=10"),
        questions=QUESTIONS,
        bases=BASES,
        **kw,
    )


def test_the_mix_has_the_shares_it_was_given() -> None:
    arrivals = workload().arrivals(200, 60)
    ops = Counter(a.op for a in arrivals)
    mix = ops["inject"] + ops["write"] + ops["search"]
    assert 0.66 < ops["inject"] / mix < 0.74
    assert 0.17 < ops["write"] / mix < 0.23
    assert 0.08 < ops["search"] / mix < 0.12
    assert 0.8 * mix / 20 < ops["session"] < 1.2 * mix / 20  # one rotation per 20 mix requests
    assert 0.9 * 200 * 60 < mix < 1.1 * 200 * 60


def test_the_schedule_is_fixed_by_the_seed_and_ordered_in_time() -> None:
    a, b = workload(seed=1).arrivals(50, 10), workload(seed=1).arrivals(50, 10)
    assert a == b
    assert a != workload(seed=2).arrivals(50, 10)
    times = [x.at for x in a]
    assert times == sorted(times) and 0 <= times[0] and times[-1] < 10


def test_uniform_arrivals_are_evenly_spaced() -> None:
    arrivals = workload().arrivals(20, 5, "uniform")
    gaps = {round(b.at - a.at, 9) for a, b in itertools.pairwise(arrivals)}
    assert gaps == {round(1 / (20 * (1 + 1 / 20)), 9)}


def test_repeats_come_from_the_agents_recurring_questions_and_fresh_ones_never_repeat() -> None:
    w = workload(repeat_share=0.5, repeat_pool=3)
    injects = [a for a in w.arrivals(100, 30) + w.arrivals(100, 30) if a.op == "inject"]
    repeats = [a for a in injects if a.repeat]
    assert 0.4 < len(repeats) / len(injects) < 0.6
    assert all(a.body["query"] in w.recurring[a.agent] for a in repeats)
    assert all(len(w.recurring[i]) == 3 for i in range(10))
    fresh = [a.body["query"] for a in injects if not a.repeat]
    assert len(fresh) > len(QUESTIONS)  # past one round of the corpus ...
    assert len(set(fresh)) == len(fresh)  # ... and still never the same string twice


def test_writes_are_distinct_and_some_go_to_the_working_tier() -> None:
    writes = [a.body for a in workload().arrivals(200, 20) if a.op == "write"]
    assert len({w["content"] for w in writes}) == len(writes)
    working = sum(1 for w in writes if w.get("tier") == "working")
    assert 0.15 < working / len(writes) < 0.35


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("inject=70,write=20,serch=10", "serch=10"),
        ("inject=70,inject=30", "twice"),
        ("inject=x", "must be a number"),
        ("inject=-1,write=2", ">= 0"),
        ("inject=0,write=0", "not all be zero"),
    ],
)
def test_a_bad_mix_is_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule.parse_mix(text)


def test_a_mix_is_normalised() -> None:
    assert schedule.parse_mix("inject=7,write=2,search=1") == schedule.Mix(0.7, 0.2, 0.1)


@pytest.mark.parametrize("text", ["50,25", "0,10", "ten", ""])
def test_rates_must_be_positive_and_ascending(text: str) -> None:
    with pytest.raises(ValueError, match="--rates"):
        schedule.parse_rates(text)


def test_agents_spread_over_the_namespaces() -> None:
    specs = schedule.agent_specs(200, 50)
    assert len({s.agent_id for s in specs}) == 200
    assert Counter(s.namespace for s in specs) == {f"ns-{i:02d}": 4 for i in range(50)}
    with pytest.raises(ValueError, match="cannot exceed"):
        schedule.agent_specs(10, 20)


def test_summaries_count_every_unexpected_status_as_an_error() -> None:
    # (op, planned s, lag ms, latency ms, status, cache, repeat)
    records = [
        ("inject", i / 100, 0.1, float(i), 200, "hit" if i % 2 else "miss", i % 2 == 1) for i in range(100)
    ]
    records += [("inject", 1.0, 0.1, 5000.0, 503, "", False), ("inject", 1.0, 0.1, 30000.0, -1, "", True)]
    records += [("write", 0.5, 0.1, 3.0, 201, "", False), ("write", 0.6, 0.1, 2.0, 200, "", False)]
    out = stats.summarize(records)
    inject = out["inject"]
    assert (inject["requests"], inject["errors"]) == (102, 2)
    assert inject["error_statuses"] == {"503": 1, "-1": 1}
    assert inject["p50"] == pytest.approx(49.5)  # the errors' latencies are not in the percentiles
    assert inject["cache_hit_share"] == 0.5
    assert out["inject-repeat"]["requests"] == 51 and out["inject-repeat"]["cache_hit_share"] == 1.0
    assert out["write"]["errors"] == 0
    assert "search" not in out


def test_the_generator_is_behind_when_its_lag_p99_passes_the_limit() -> None:
    on_time = [("inject", i / 10, 1.0, 5.0, 200, "miss", False) for i in range(100)]
    late = on_time[:90] + [("inject", 9.0 + i / 10, 50.0, 60.0, 200, "miss", False) for i in range(10)]
    assert stats.generator_health(on_time, 10.0, 10.0)["on_schedule"] is True
    health = stats.generator_health(late, 10.0, 10.0)
    assert health["on_schedule"] is False and health["lag_max"] == 50.0
    assert health["planned_rate"] == 10.0


def test_per_minute_buckets_by_planned_time() -> None:
    records = [("search", 30.0, 0.1, 10.0, 200, "", False), ("search", 70.0, 0.1, 20.0, 500, "", False)]
    minutes = stats.per_minute(records)
    assert [(m["minute"], m["requests"], m["errors"], m["search_p95"]) for m in minutes] == [
        (0, 1, 0, 10.0),
        (1, 1, 1, None),
    ]
