"""The two figures: latency against arrival rate (load.py) and memory and p95 over time (soak.py).

matplotlib (the ``bench`` extra) with the non-interactive Agg backend, so the scripts run on
a headless server; PNG files, small enough to keep in the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["plot_load", "plot_soak"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(
            "matplotlib is needed for the plots: pip install -e '.[bench]' (or pass --no-plot)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _plain_log_axis(ax: Any) -> None:
    """A log scale labelled 10, 15, 20, 30, 40, 60 ms rather than 10^1."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 4.0, 6.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda y, _: ""))


def plot_load(steps: list[dict[str, Any]], title: str, path: Path) -> None:
    """Injection p50/p95/p99 and write/search p95 (ms, log scale) per arrival rate, the 100 ms
    baseline and the 25 ms target as lines; a step where the generator fell behind is hollow."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=110)
    series = [
        ("inject", "p50", "injection p50", "#9ecae1", "-"),
        ("inject", "p95", "injection p95", "#3182bd", "-"),
        ("inject", "p99", "injection p99", "#08519c", "--"),
        ("write", "p95", "write p95", "#e6550d", "-"),
        ("search", "p95", "search p95", "#31a354", "-"),
    ]
    for op, q, label, color, style in series:
        points = [(s["rate"], s["ops"][op][q], s["health"]["on_schedule"]) for s in steps if op in s["ops"]]
        points = [p for p in points if p[1] is not None]
        if not points:
            continue
        ax.plot([p[0] for p in points], [p[1] for p in points], style, color=color, label=label)
        for x, y, ok in points:
            ax.plot([x], [y], "o", color=color, markerfacecolor=color if ok else "white")
    ax.axhline(100, color="#a50f15", linewidth=1, linestyle=":", label="100 ms (runbook baseline)")
    ax.axhline(25, color="#636363", linewidth=1, linestyle=":", label="25 ms (target at 50 req/s)")
    if any(not s["health"]["on_schedule"] for s in steps):
        ax.plot([], [], "o", color="#636363", markerfacecolor="white", label="generator behind: not valid")
    _plain_log_axis(ax)
    ax.set_xlabel("arrival rate of the mix (requests/s, open loop)")
    ax.set_ylabel("latency from planned send time (ms)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def plot_soak(
    rss: list[tuple[float, int]],
    minutes: list[dict[str, Any]],
    warmup_s: float,
    window_s: float,
    seconds: float,
    title: str,
    path: Path,
) -> None:
    """Top: the server's RSS (MiB) every sample, the warm-up shaded and the two windows whose
    medians are compared marked; bottom: p95 per minute."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), dpi=110, sharex=True)
    top.plot([t / 60 for t, _ in rss], [b / 2**20 for _, b in rss], color="#3182bd")
    top.axvspan(0, warmup_s / 60, color="#bdbdbd", alpha=0.3, label="warm-up (not judged)")
    top.axvspan(warmup_s / 60, (warmup_s + window_s) / 60, color="#9ecae1", alpha=0.3, label="first window")
    top.axvspan((seconds - window_s) / 60, seconds / 60, color="#fdae6b", alpha=0.3, label="last window")
    top.set_ylabel("server RSS (MiB)")
    top.legend(fontsize=8, loc="lower right")
    top.grid(True, alpha=0.3)
    for op, color in (("inject", "#3182bd"), ("write", "#e6550d"), ("search", "#31a354")):
        pts = [(m["minute"] + 0.5, m[f"{op}_p95"]) for m in minutes if m[f"{op}_p95"] is not None]
        if pts:
            bottom.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=color, label=f"{op} p95")
    bottom.axhline(100, color="#a50f15", linewidth=1, linestyle=":", label="100 ms")
    _plain_log_axis(bottom)
    bottom.set_xlabel("minutes since the soak started")
    bottom.set_ylabel("p95 per minute (ms)")
    bottom.legend(fontsize=8, loc="upper left")
    bottom.grid(True, which="both", alpha=0.3)
    top.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
