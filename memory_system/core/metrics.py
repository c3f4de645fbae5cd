"""Prometheus metrics: one registry, every metric the service exports, defined once.

Histogram buckets sit on the alert thresholds (0.1 s baseline, 0.5 s critical) so that
p95 can be read from Prometheus. Labels never carry session or agent ids. Every metric is
listed in docs/operations.md.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

INJECTION_LATENCY = Histogram(
    "memory_injection_latency_seconds",
    "Time to answer POST /v1/inject.",
    ["mode", "cache"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
REQUESTS = Counter(
    "memory_requests_total",
    "HTTP requests by route kind and status class.",
    ["kind", "status"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "memory_errors_total",
    "Errors by kind (injection, sharing, database, ...).",
    ["kind"],
    registry=REGISTRY,
)
RAG_TIMEOUTS = Counter(
    "memory_rag_timeouts_total",
    "Retrieval steps that ran past their time budget or failed (degraded).",
    ["reason"],
    registry=REGISTRY,
)
CACHE_HITS = Counter("memory_injection_cache_hits_total", "Injection cache hits.", registry=REGISTRY)
CACHE_MISSES = Counter("memory_injection_cache_misses_total", "Injection cache misses.", registry=REGISTRY)
SHARING_ERRORS = Counter(
    "memory_sharing_errors_total", "Failed cross-agent share, revoke and hand-off calls.", registry=REGISTRY
)
EMBEDDING_QUEUE = Gauge("memory_embedding_queue", "Memories waiting for their vector.", registry=REGISTRY)
PROCESS_MEMORY = Gauge("memory_process_resident_bytes", "Resident memory of the process.", registry=REGISTRY)
ACTIVE_SESSIONS = Gauge(
    "memory_active_sessions", "Active sessions with the flag enabled.", ["flag"], registry=REGISTRY
)
TIER_TRANSITIONS = Counter(
    "memory_tier_transitions_total",
    "Memories moved by tier maintenance, by action (promoted_to_short_term, "
    "promoted_to_long_term, decayed, expired_working, forgotten, expired).",
    ["action"],
    registry=REGISTRY,
)
TIER_MAINTENANCE_LAST_RUN = Gauge(
    "memory_tier_maintenance_last_run_timestamp_seconds",
    "When the last tier-maintenance pass finished "
    "(0 until one has; passes while USE_HIERARCHICAL_TIERS is off do not count).",
    registry=REGISTRY,
)


def refresh_process_gauges() -> None:
    """Sampled at scrape time: cheaper than a background thread and always current."""
    try:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
        PROCESS_MEMORY.set(resident_pages * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        pass
