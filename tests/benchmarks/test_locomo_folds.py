"""benchmarks/_locomo_folds.py on synthetic inputs: the service's fusion formulas re-done offline,
and leave-one-conversation-out choosing on the other conversations only."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
folds: Any = importlib.import_module("_locomo_folds")

CATS = ["a", "b"]


def q(conv: str, cat: str, **recall: float) -> Any:
    """A question whose R@5/10/20 are all ``value`` for each named configuration."""
    return folds.Question(conv, cat, {name: (v, v, v) for name, v in recall.items()})


def test_relative_fusion_matches_the_service_formula() -> None:
    from memory_system.memory.retrieval import hybrid

    lists = {"fulltext": [(1, 9.0), (2, 5.0), (3, 1.0)], "dense": [(3, 0.9), (4, 0.8), (1, 0.1)]}
    expected: dict[int, float] = {}
    for ranked in lists.values():
        for memory_id, _, share in hybrid._contributions(ranked):
            expected[memory_id] = expected.get(memory_id, 0.0) + share
    service_order = sorted(expected, key=lambda i: (-expected[i], i))
    assert folds.relative_fusion(lists, {"fulltext": 1.0, "dense": 1.0}, depth=50) == service_order
    assert folds.relative_fusion(lists, {"fulltext": 0.5, "dense": 0.5}, depth=50) == service_order


def test_relative_fusion_weights_and_depth() -> None:
    lists = {"fulltext": [(1, 9.0), (2, 1.0)], "dense": [(2, 0.9), (1, 0.1)]}
    assert folds.relative_fusion(lists, {"fulltext": 0.8, "dense": 0.2}, depth=50) == [1, 2]
    assert folds.relative_fusion(lists, {"fulltext": 0.2, "dense": 0.8}, depth=50) == [2, 1]
    # depth 1: only each list's head counts; equal scores tie by id
    assert folds.relative_fusion(lists, {}, depth=1) == [1, 2]
    assert folds.relative_fusion({"fulltext": [], "dense": [(7, 0.3)]}, {}, depth=5) == [7]


def test_rrf_uses_ranks_not_scores() -> None:
    lists = {"fulltext": [(1, 100.0), (2, 99.0)], "dense": [(2, 0.5), (3, 0.4)]}
    assert folds.rrf_fusion(lists, {}, depth=50) == [2, 1, 3]


def test_leave_one_out_chooses_on_the_other_conversations_only() -> None:
    # "x" wins on c1 and c2, "y" wins on c3; held out c3, the choice must be "x" though "y" is
    # better there: the fold never sees its own questions.
    questions = [
        q("c1", "a", x=1.0, y=0.0),
        q("c2", "b", x=1.0, y=0.0),
        q("c3", "a", x=0.0, y=1.0),
        q("c3", "b", x=0.2, y=1.0),
    ]
    result = folds.leave_one_out(questions, ["x", "y"], CATS)
    assert [f.held_out for f in result] == ["c1", "c2", "c3"]
    by = {f.held_out: f for f in result}
    assert by["c3"].chosen == "x"
    assert by["c3"].test.overall[1] == pytest.approx(0.1)
    assert by["c3"].test.categories == {"a": (0.0, 0.0, 0.0), "b": (0.2, 0.2, 0.2)}
    # held out c1: trained on c2 (x 1.0) and c3's two (x 0.0, 0.2; y 1.0, 1.0): y 0.67 > x 0.4
    assert (by["c1"].chosen, by["c1"].train_r10, by["c1"].test.overall) == (
        "y",
        pytest.approx(2 / 3),
        (0, 0, 0),
    )
    assert by["c1"].test.categories["b"] is None


def test_in_sample_can_only_look_better_than_leave_one_out() -> None:
    questions = [
        q("c1", "a", x=1.0, y=0.0),
        q("c2", "a", x=1.0, y=0.0),
        q("c3", "a", x=0.0, y=1.0),
        q("c3", "b", x=0.0, y=1.0),
        q("c3", "b", x=0.0, y=1.0),
    ]
    ev = folds.evaluate(questions, ["x", "y"], CATS)
    assert ev.chosen == "y"  # pooled over all 5 questions: y 0.6 > x 0.4
    assert [f.chosen for f in ev.folds] == ["y", "y", "x"]
    assert ev.loo.mean.overall[1] == pytest.approx(0.0)
    assert ev.in_sample.overall[1] == pytest.approx(0.6)
    assert ev.in_sample_convs.mean.overall[1] == pytest.approx(1 / 3)


def test_ties_go_to_the_first_listed_configuration() -> None:
    questions = [q("c1", "a", x=0.5, y=0.5), q("c2", "a", x=0.5, y=0.5)]
    assert folds.best_config(questions, ["y", "x"])[0] == "y"
    assert folds.best_config(questions, ["x", "y"])[0] == "x"


def test_summary_mean_and_worst_per_column_skip_missing_categories() -> None:
    parts = [
        folds.Figures((0.2, 0.4, 0.6), {"a": (0.1, 0.2, 0.3), "b": None}, 3),
        folds.Figures((0.4, 0.8, 1.0), {"a": (0.3, 0.6, 0.9), "b": (0.5, 0.5, 0.5)}, 5),
    ]
    s = folds.summarise(parts, CATS)
    assert s.mean.overall == pytest.approx((0.3, 0.6, 0.8))
    assert s.worst.overall == pytest.approx((0.2, 0.4, 0.6))
    assert s.mean.categories["a"] == pytest.approx((0.2, 0.4, 0.6))
    assert s.mean.categories["b"] == pytest.approx((0.5, 0.5, 0.5))
    assert s.worst.categories["b"] == pytest.approx((0.5, 0.5, 0.5))
    assert s.mean.questions == 8


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="two conversations"):
        folds.leave_one_out([q("c1", "a", x=1.0)], ["x"], CATS)
    with pytest.raises(ValueError, match="no questions"):
        folds.best_config([], ["x"])
    with pytest.raises(ValueError, match="nothing"):
        folds.summarise([], CATS)
