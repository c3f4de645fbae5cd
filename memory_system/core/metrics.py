"""Prometheus metrics: one registry, every metric the service exports, defined once.

Histogram buckets sit on the alert thresholds (0.1 s baseline, 0.5 s critical) so that
p95 can be read from Prometheus. Labels never carry session or agent ids. Every metric is
listed in docs/operations.md.
"""

from __future__ import annotations

import os
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

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
DATABASE_ERRORS = Counter(
    "memory_database_errors_total",
    "Database failures by kind (busy, full, io, read_only, corrupt, schema_missing, other); "
    "constraint refusals are the caller's and not counted.",
    ["kind"],
    registry=REGISTRY,
)
EMBEDDING_QUEUE = Gauge("memory_embedding_queue", "Memories waiting for their vector.", registry=REGISTRY)
PROCESS_MEMORY = Gauge("memory_process_resident_bytes", "Resident memory of the process.", registry=REGISTRY)
MEMORY_LIMIT = Gauge(
    "memory_process_memory_limit_bytes",
    "The memory the alerts measure resident memory against (memoryLimitMb, else the cgroup's, else RAM).",
    registry=REGISTRY,
)
ACTIVE_SESSIONS = Gauge(
    "memory_active_sessions", "Active sessions with the flag enabled.", ["flag"], registry=REGISTRY
)
SESSIONS_ACTIVE = Gauge(
    "memory_sessions_active", "Sessions active within the flags' active window.", registry=REGISTRY
)
FLAG_VALUE = Gauge(
    "memory_feature_flag_value",
    "Each flag's effective value (0 off, 1 on, a fraction in between: the rollout).",
    ["flag"],
    registry=REGISTRY,
)
FLAG_LAST_CHANGE = Gauge(
    "memory_feature_flag_last_change_timestamp_seconds",
    "When the flag's database value last changed (0: never).",
    ["flag"],
    registry=REGISTRY,
)
ALERT_FIRING = Gauge(
    "memory_alert_firing",
    "1 while the in-process alert rule fires, else 0 (GET /admin/alerts says why).",
    ["rule", "severity"],
    registry=REGISTRY,
)
BUILD = Info("memory_build", "The running build: version and git commit.", registry=REGISTRY)
SCHEMA_VERSION = Gauge(
    "memory_schema_version", "The database's schema version, sampled at scrape.", registry=REGISTRY
)
SCHEMA_EXPECTED = Gauge(
    "memory_schema_expected_version", "The schema version this build expects.", registry=REGISTRY
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
INTEGRITY_OK = Gauge(
    "memory_integrity_ok",
    "1 when the last periodic quick_check of the database passed, 0 when it found damage "
    "(1 until the first check).",
    registry=REGISTRY,
)
INTEGRITY_OK.set(1)
INTEGRITY_LAST_CHECK = Gauge(
    "memory_integrity_last_check_timestamp_seconds",
    "When the last periodic quick_check finished (0 until one has).",
    registry=REGISTRY,
)
# Shadow mode (memory/injection/shadow.py): named apart from memory_injection_latency_seconds
# so that shadow runs never reach the injection-latency alert, which reads that histogram.
SHADOW_LATENCY = Histogram(
    "memory_shadow_injection_latency_seconds",
    "Shadow-sampled legacy requests: the enhanced build done in the background, and the legacy answer.",
    ["path"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
SHADOW_OVERLAP = Histogram(
    "memory_shadow_overlap",
    "Jaccard overlap of the memory ids of a shadow run's enhanced block and the legacy answer.",
    buckets=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    registry=REGISTRY,
)
SHADOW_DROPPED = Counter(
    "memory_shadow_dropped_total",
    "Shadow samples dropped because the shadow queue was full.",
    registry=REGISTRY,
)
SHADOW_FAILURES = Counter(
    "memory_shadow_failures_total", "Shadow runs whose enhanced build raised.", registry=REGISTRY
)


def refresh_process_gauges() -> None:
    """Sampled at scrape time: cheaper than a background thread and always current."""
    try:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
        PROCESS_MEMORY.set(resident_pages * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        pass


_shadow = threading.local()


def mark_shadow_thread() -> None:
    """The calling thread runs shadow injections (memory/injection/shadow.py): its retrieval
    timeouts are no user's, and counted they would fire the rag_timeouts alert on their own."""
    _shadow.active = True


def count_rag_timeout(reason: str) -> None:
    """``memory_rag_timeouts_total{reason}`` + 1, unless a shadow run timed out."""
    if not getattr(_shadow, "active", False):
        RAG_TIMEOUTS.labels(reason=reason).inc()
