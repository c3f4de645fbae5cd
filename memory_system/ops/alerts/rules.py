"""The runbook's alert matrix as data: what each rule measures, its threshold, its severity,
and the flags it is tied to (the guard turns those off when a CRITICAL rule fires).

A measure returns None when there is not enough to judge (no injections yet, too few cache
lookups, less history than the growth window): a rule with no data never fires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from memory_system.ops.alerts.config import AlertConfig
from memory_system.ops.alerts.samples import Window

__all__ = ["ALL_FLAGS", "Rule", "build_rules"]

Severity = Literal["CRITICAL", "WARNING"]
ENHANCED = "USE_ENHANCED_INJECTION"
SHARING = "USE_CROSS_AGENT_SHARING"
ALL_FLAGS = ("USE_HIERARCHICAL_TIERS", SHARING, ENHANCED)


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Severity
    summary: str
    threshold: float
    unit: str
    measure: Callable[[Window], float | None]
    breached: Callable[[float], bool]
    flags: tuple[str, ...] = ()


def build_rules(config: AlertConfig) -> list[Rule]:
    """The matrix with this config's thresholds and windows."""
    per_min = 60.0 / config.rate_window_seconds
    rate = config.rate_window_seconds

    def injection_p95_ms(window: Window) -> float | None:
        p95 = window.injection_quantile(0.95, config.latency_window_seconds)
        return None if p95 is None else round(p95 * 1000, 3)

    def injection_errors_per_min(window: Window) -> float:
        return window.increase(lambda s: s.injection_errors, rate) * per_min

    def memory_fraction(window: Window) -> float | None:
        now = window.now
        return round(now.resident_bytes / now.memory_limit_bytes, 4) if now.memory_limit_bytes else None

    def memory_growth(window: Window) -> float | None:
        thirds = window.resident_thirds(config.memory_growth_window_seconds)
        if thirds is None or thirds[0] <= 0:
            return None
        first, second, third = thirds
        return round(third / first - 1, 4) if first < second < third else 0.0

    def cache_hit_rate(window: Window) -> float | None:
        hits = window.increase(lambda s: s.cache_hits, config.cache_window_seconds)
        misses = window.increase(lambda s: s.cache_misses, config.cache_window_seconds)
        lookups = hits + misses
        return round(hits / lookups, 4) if lookups >= config.cache_min_lookups else None

    critical_errors = config.injection_errors_critical_per_min
    return [
        Rule(
            "injection_latency_p95",
            "CRITICAL",
            f"injection p95 over {config.latency_window_seconds:g} s above "
            f"{config.injection_p95_critical_ms:g} ms (baseline {config.injection_p95_baseline_ms:g} ms)",
            config.injection_p95_critical_ms,
            "ms",
            injection_p95_ms,
            lambda v: v > config.injection_p95_critical_ms,
            (ENHANCED,),
        ),
        Rule(
            "injection_errors_critical",
            "CRITICAL",
            f"{critical_errors:g} or more injection errors per minute",
            critical_errors,
            "per_min",
            injection_errors_per_min,
            lambda v: v >= critical_errors,
            (ENHANCED,),
        ),
        Rule(
            "injection_errors",
            "WARNING",
            f"injection errors, under {critical_errors:g} per minute",
            0.0,
            "per_min",
            injection_errors_per_min,
            lambda v: 0 < v < critical_errors,
        ),
        Rule(
            "database_failures",
            "CRITICAL",
            "database connection or write failures (busy past the timeout, full, read-only, corrupt)",
            0.0,
            "per_min",
            lambda w: w.increase(lambda s: s.database_failures, rate) * per_min,
            lambda v: v > 0,
        ),
        Rule(
            "memory_critical",
            "CRITICAL",
            f"resident memory above {config.memory_critical_fraction:.0%} of the limit",
            config.memory_critical_fraction,
            "fraction",
            memory_fraction,
            lambda v: v > config.memory_critical_fraction,
            ALL_FLAGS,
        ),
        Rule(
            "memory_warning",
            "WARNING",
            f"resident memory above {config.memory_warning_fraction:.0%} of the limit",
            config.memory_warning_fraction,
            "fraction",
            memory_fraction,
            lambda v: v > config.memory_warning_fraction,
        ),
        Rule(
            "memory_growth",
            "WARNING",
            f"resident memory rising through every third of {config.memory_growth_window_seconds:g} s, "
            f"by more than {config.memory_growth_fraction:.0%} (heap not stable)",
            config.memory_growth_fraction,
            "fraction",
            memory_growth,
            lambda v: v > config.memory_growth_fraction,
        ),
        Rule(
            "rag_timeouts",
            "WARNING",
            "retrieval steps past their time budget (answers degrade to full text; nothing fails)",
            0.0,
            "per_min",
            lambda w: w.increase(lambda s: s.rag_timeouts, rate) * per_min,
            lambda v: v > 0,
        ),
        Rule(
            "cache_hit_rate",
            "WARNING",
            f"injection cache hit rate below {config.cache_hit_rate_warning:.0%} over "
            f"{config.cache_window_seconds:g} s (at least {config.cache_min_lookups} lookups)",
            config.cache_hit_rate_warning,
            "fraction",
            cache_hit_rate,
            lambda v: v < config.cache_hit_rate_warning,
        ),
        Rule(
            "sharing_errors",
            "CRITICAL",
            f"more than {config.sharing_errors_critical_per_min:g} cross-agent sharing errors per minute",
            config.sharing_errors_critical_per_min,
            "per_min",
            lambda w: w.increase(lambda s: s.sharing_errors, rate) * per_min,
            lambda v: v > config.sharing_errors_critical_per_min,
            (SHARING,),
        ),
        Rule(
            "integrity_check",
            "CRITICAL",
            "the periodic integrity quick check found damage (run 'memory-system db check')",
            1.0,
            "ok",
            lambda w: w.now.integrity_ok,
            lambda v: v < 1,
        ),
    ]
