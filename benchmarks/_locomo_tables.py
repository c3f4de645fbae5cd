"""Markdown tables of ``benchmarks/locomo.py``: recall rows, leave-one-out figures, folds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from _locomo_folds import Evaluation, Figures


def head(first: str, categories: Sequence[str]) -> str:
    return (
        f"| {first} | R@5 | R@10 | R@20 | "
        + " | ".join(f"{c} R@10" for c in categories)
        + " |\n|---|---|---|---|"
        + "---|" * len(categories)
    )


def row(label: str, f: Figures, categories: Sequence[str]) -> str:
    cats = [f.categories[c] for c in categories]
    return (
        f"| {label} | "
        + " | ".join(f"{v:.3f}" for v in f.overall)
        + " | "
        + " | ".join("-" if r is None else f"{r[1]:.3f}" for r in cats)
        + " |"
    )


def loo_table(views: Mapping[str, Evaluation], categories: Sequence[str]) -> list[str]:
    """Per mode: leave-one-out mean and worst fold, then the in-sample figures beside them."""
    lines = [head("mode: figure", categories)]
    for mode, v in views.items():
        n = len(v.folds)
        lines += [
            row(f"**{mode}: leave-one-out, mean of {n} folds**", v.loo.mean, categories),
            row(f"{mode}: leave-one-out, worst fold (per column)", v.loo.worst, categories),
            row(f"{mode}: in-sample ({v.chosen} chosen on all {n}), all questions", v.in_sample, categories),
            row(f"{mode}: in-sample, mean of {n} conversations", v.in_sample_convs.mean, categories),
            row(f"{mode}: in-sample, worst conversation", v.in_sample_convs.worst, categories),
        ]
    return lines


def folds_table(views: Mapping[str, Evaluation]) -> list[str]:
    """One line per fold: per mode, what was chosen on the others and what it scored held out."""
    lines = [
        "| held out | questions | "
        + " | ".join(f"{m}: chosen on the others (train R@10) | {m}: held-out R@10" for m in views)
        + " |",
        "|---|---|" + "---|---|" * len(views),
    ]
    first = next(iter(views.values())).folds
    for i, fold in enumerate(first):
        cells = []
        for v in views.values():
            f = v.folds[i]
            cells += [f"{f.chosen} ({f.train_r10:.3f})", f"{f.test.overall[1]:.3f}"]
        lines.append(f"| {fold.held_out} | {fold.test.questions} | " + " | ".join(cells) + " |")
    return lines
