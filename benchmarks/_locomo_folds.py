"""Honest LoCoMo figures: per-query configurations re-fused offline, chosen leave-one-conversation-out.

Pure functions, no service and no data: ``benchmarks/locomo.py`` feeds them what the search API
answered, and ``tests/benchmarks/test_locomo_folds.py`` feeds them synthetic lists.

- ``relative_fusion`` / ``rrf_fusion``: the service's two fusion formulas
  (``memory/retrieval/hybrid.py``: ``_contributions`` and ``_fuse``), with a weight per source,
  so weights the search API does not expose can be tried on its per-source answers.
- ``leave_one_out``: for each conversation, the configuration with the best mean R@10 over the
  questions of the other conversations, scored on that conversation's questions.
- ``summarise``: mean over folds and worst fold, overall and per category.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Ranked = Sequence[tuple[int, float]]  # (memory id, the source's raw score), best first
Recall = Sequence[float]  # R@5, R@10, R@20 of one question
PICK = 1  # index of R@10 in a recall row: what a configuration is chosen by
RRF_K = 60  # hybrid.RRF_K


def relative_fusion(lists: Mapping[str, Ranked], weights: Mapping[str, float], depth: int) -> list[int]:
    """Relative score fusion as the service does it: each source's first ``depth`` scores min-max
    scaled to 0.01..1 within that list, times the source's weight, summed; ties by id."""
    fused: dict[int, float] = {}
    for source, ranked in lists.items():
        head = list(ranked)[:depth]
        if not head:
            continue
        values = [score for _, score in head]
        low, span = min(values), max(values) - min(values)
        for memory_id, score in head:
            share = 0.01 + 0.99 * ((score - low) / span if span > 0 else 1.0)
            fused[memory_id] = fused.get(memory_id, 0.0) + weights.get(source, 1.0) * share
    return sorted(fused, key=lambda i: (-fused[i], i))


def rrf_fusion(lists: Mapping[str, Ranked], weights: Mapping[str, float], depth: int) -> list[int]:
    """Reciprocal rank fusion (k = 60) over each source's first ``depth`` candidates; ties by id."""
    fused: dict[int, float] = {}
    for source, ranked in lists.items():
        for rank, (memory_id, _) in enumerate(list(ranked)[:depth], start=1):
            fused[memory_id] = fused.get(memory_id, 0.0) + weights.get(source, 1.0) / (RRF_K + rank)
    return sorted(fused, key=lambda i: (-fused[i], i))


@dataclass(frozen=True)
class Question:
    """One scored question: its conversation, category and, per configuration, its recall row."""

    conversation: str
    category: str
    recall: Mapping[str, Recall]


@dataclass(frozen=True)
class Figures:
    """Mean recall rows over a set of questions: overall and per category (None: no question)."""

    overall: tuple[float, ...]
    categories: Mapping[str, tuple[float, ...] | None]
    questions: int


@dataclass(frozen=True)
class Fold:
    held_out: str
    chosen: str
    train_r10: float
    test: Figures


def mean_rows(rows: Sequence[Recall]) -> tuple[float, ...] | None:
    if not rows:
        return None
    return tuple(sum(r[i] for r in rows) / len(rows) for i in range(len(rows[0])))


def figures(questions: Sequence[Question], config: str, categories: Sequence[str]) -> Figures:
    overall = mean_rows([q.recall[config] for q in questions])
    if overall is None:
        raise ValueError("no questions to score")
    return Figures(
        overall=overall,
        categories={
            c: mean_rows([q.recall[config] for q in questions if q.category == c]) for c in categories
        },
        questions=len(questions),
    )


def best_config(questions: Sequence[Question], configs: Sequence[str]) -> tuple[str, float]:
    """The configuration with the highest mean R@10 over ``questions``; ties: the first listed."""
    if not questions:
        raise ValueError("no questions to choose a configuration on")
    best, best_value = configs[0], -1.0
    for config in configs:
        value = sum(q.recall[config][PICK] for q in questions) / len(questions)
        if value > best_value:
            best, best_value = config, value
    return best, best_value


def leave_one_out(
    questions: Sequence[Question], configs: Sequence[str], categories: Sequence[str]
) -> list[Fold]:
    """One fold per conversation (in first-seen order): chosen on the others, scored on it."""
    conversations = list(dict.fromkeys(q.conversation for q in questions))
    if len(conversations) < 2:
        raise ValueError("leave-one-out needs at least two conversations")
    folds = []
    for held_out in conversations:
        train = [q for q in questions if q.conversation != held_out]
        test = [q for q in questions if q.conversation == held_out]
        chosen, train_r10 = best_config(train, configs)
        folds.append(Fold(held_out, chosen, train_r10, figures(test, chosen, categories)))
    return folds


def per_conversation(questions: Sequence[Question], config: str, categories: Sequence[str]) -> list[Figures]:
    """``config``'s figures on each conversation alone (the in-sample counterpart of folds)."""
    conversations = list(dict.fromkeys(q.conversation for q in questions))
    return [figures([q for q in questions if q.conversation == c], config, categories) for c in conversations]


@dataclass(frozen=True)
class Summary:
    mean: Figures  # mean over folds of each fold's figure (a category: over folds that have it)
    worst: Figures  # per column, the lowest fold


def summarise(parts: Sequence[Figures], categories: Sequence[str]) -> Summary:
    """Mean and per-column minimum over folds (or conversations), overall and per category."""
    if not parts:
        raise ValueError("nothing to summarise")

    def combine(rows: list[tuple[float, ...]], how: str) -> tuple[float, ...] | None:
        if not rows:
            return None
        columns = list(zip(*rows, strict=True))
        return tuple(min(c) if how == "min" else sum(c) / len(c) for c in columns)

    out = {}
    for how in ("mean", "min"):
        overall = combine([p.overall for p in parts], how)
        assert overall is not None
        cats = {c: combine([r for p in parts if (r := p.categories[c]) is not None], how) for c in categories}
        out[how] = Figures(overall, cats, sum(p.questions for p in parts))
    return Summary(mean=out["mean"], worst=out["min"])


@dataclass(frozen=True)
class Evaluation:
    """One storage mode's honest figures: the folds, their summary, and the in-sample choice."""

    folds: list[Fold]
    loo: Summary
    chosen: str  # chosen on every conversation: the in-sample configuration
    in_sample: Figures  # pooled over every question, as one in-sample figure is usually quoted
    in_sample_convs: Summary  # the in-sample choice per conversation: comparable to ``loo``


def evaluate(questions: Sequence[Question], configs: Sequence[str], categories: Sequence[str]) -> Evaluation:
    folds = leave_one_out(questions, configs, categories)
    chosen, _ = best_config(questions, configs)
    return Evaluation(
        folds=folds,
        loo=summarise([f.test for f in folds], categories),
        chosen=chosen,
        in_sample=figures(questions, chosen, categories),
        in_sample_convs=summarise(per_conversation(questions, chosen, categories), categories),
    )
