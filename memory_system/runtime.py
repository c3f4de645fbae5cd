"""The composition root: the database and every service on it, wired together for one process.

Interfaces (HTTP, CLI, MCP) and the server get one ``Runtime`` and call its services. Nothing
below this module imports it: each service is handed exactly the dependencies it uses, here.
Services are built on first use so that a CLI command that needs only the graph never loads
the embedding model.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory_system.core.settings import Settings
from memory_system.store import migrations
from memory_system.store.connection import Database

if TYPE_CHECKING:
    from memory_system.auth.agent_tokens import TokenService
    from memory_system.flags.rollout import RolloutDriver, RolloutService
    from memory_system.flags.service import FlagService
    from memory_system.memory.graph.entities import KnowledgeGraph
    from memory_system.memory.injection.injector import Injector
    from memory_system.memory.injection.shadow import ShadowRunner
    from memory_system.memory.records.events import MemoryEvents
    from memory_system.memory.records.memories import MemoryService
    from memory_system.memory.retrieval.embeddings import Embedder
    from memory_system.memory.retrieval.hybrid import Retrieval
    from memory_system.memory.sessions.registry import SessionService
    from memory_system.memory.sessions.state import SessionStateService
    from memory_system.memory.sharing.grants import SharingService
    from memory_system.memory.sharing.handoff import HandoffService
    from memory_system.memory.tiers.rules import TierMaintenanceReport, TierPolicy
    from memory_system.memory.tiers.scheduler import TierMaintenanceThread
    from memory_system.memory.typed.audit import TypedStoreAudit
    from memory_system.memory.typed.code_patterns import CodePatternStore
    from memory_system.memory.typed.policy import TypedStorePolicy
    from memory_system.memory.typed.preferences import PreferenceStore
    from memory_system.memory.typed.system_metadata import SystemMetadataStore
    from memory_system.ops.alerts.engine import AlertEngine, AlertTransition, AlertWatch
    from memory_system.ops.alerts.recorder import AlertRecorder
    from memory_system.ops.health import HealthSources
    from memory_system.ops.integrity_watch import IntegrityWatch
    from memory_system.ops.notify.delivery import DeliveryWorker


def open_runtime(db_path: Path, *, config_path: Path | None = None) -> Runtime:
    """A runtime on an existing database file (what CLI commands work on); never creates one.

    Raises ``StoreError`` when the file is absent or unusable, with a message that says what
    to do (``db migrate`` first).
    """
    settings = (
        Settings(db_path=db_path)
        if config_path is None
        else Settings(db_path=db_path, config_path=config_path)
    )
    return Runtime(settings, Database(db_path, create=False))


def open_flags(
    db_path: Path, *, env: Mapping[str, str], config_path: Path | None, cache_s: float = 0.5
) -> FlagService:
    """The feature flags of a database another process serves, for evaluation only.

    The file is opened read-only (nothing here can change it); ``env`` and the config file are
    read now, as the service reads them at start, and strictly: a broken flag variable or file
    raises ``ConfigError`` rather than leave a flag on that the service has off. Raises
    ``StoreError`` when the file is absent, not a database, or not migrated. Close it with
    ``flags.db.close()``.
    """
    from memory_system.flags.names import FLAG_NAMES
    from memory_system.flags.service import FlagService

    db = Database(db_path, read_only=True)
    try:
        flags = FlagService(db, env, config_path, cache_s=cache_s)
        flags.value(FLAG_NAMES[0])  # the first read: a file that cannot serve flags fails here
    except BaseException:
        db.close()
        raise
    return flags


class Runtime:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.db_path)
        self._closers: list[Any] = []

    def schema_version(self) -> int:
        """The newest migration applied to this database (0: none yet)."""
        return migrations.current_version(self.db.reader())

    def phase_2_rolled_back(self) -> bool:
        """Migration 004 (every Phase 2-4 table) is not applied: legacy mode (option C).

        Read per call (one primary-key read) so that a ``db migrate`` run beside the service
        is seen at once; the background workers it skipped start at the next restart.
        """
        from memory_system.ops.schema import PHASE_2_VERSION

        return not migrations.is_applied(self.db.reader(), PHASE_2_VERSION)

    @cached_property
    def graph(self) -> KnowledgeGraph:
        from memory_system.memory.graph.entities import KnowledgeGraph

        return KnowledgeGraph(self.db)

    @cached_property
    def flags(self) -> FlagService:
        """Feature flags: env read now, the config file now and on SIGHUP, the database always."""
        import os

        from memory_system.flags.service import FlagService

        return FlagService(self.db, os.environ, self.settings.config_path)

    @cached_property
    def tokens(self) -> TokenService:
        from memory_system.auth.agent_tokens import TokenService

        return TokenService(self.db)

    @cached_property
    def sessions(self) -> SessionService:
        from memory_system.memory.sessions.registry import SessionService

        return SessionService(self.db)

    @cached_property
    def events(self) -> MemoryEvents:
        """Memory write/delete notifications: the embedding worker and vector index subscribe."""
        from memory_system.memory.records.events import MemoryEvents

        return MemoryEvents()

    @cached_property
    def memories(self) -> MemoryService:
        from memory_system.memory.records.memories import MemoryService

        return MemoryService(self.db, self.events, session_check=self.sessions.check_usable)

    @cached_property
    def sharing(self) -> SharingService:
        from memory_system.memory.sharing.grants import SharingService

        return SharingService(self.db, self.events)

    @cached_property
    def handoff(self) -> HandoffService:
        """Session hand-offs: a session's state and working memories passed to another agent."""
        from memory_system.memory.sharing.handoff import HandoffService

        return HandoffService(self.db, self.events)

    @cached_property
    def session_state(self) -> SessionStateService:
        from memory_system.memory.sessions.state import SessionStateService

        return SessionStateService(self.db)

    @cached_property
    def typed_store_policy(self) -> TypedStorePolicy:
        """Who may write preferences and code patterns: the config file's ``typedStores`` section."""
        from memory_system.memory.typed.policy import load_typed_store_policy

        return load_typed_store_policy(self.settings.config_path)

    @cached_property
    def preferences(self) -> PreferenceStore:
        from memory_system.memory.typed.preferences import PreferenceStore

        return PreferenceStore(self.db, self.typed_store_policy.preferences)

    @cached_property
    def code_patterns(self) -> CodePatternStore:
        from memory_system.memory.typed.code_patterns import CodePatternStore

        return CodePatternStore(self.db, self.typed_store_policy.code_patterns)

    @cached_property
    def typed_store_audit(self) -> TypedStoreAudit:
        """The audit trail of preference and code-pattern writes."""
        from memory_system.memory.typed.audit import TypedStoreAudit

        return TypedStoreAudit(self.db)

    @cached_property
    def injector(self) -> Injector:
        """POST /v1/inject: budgeted context blocks, with its cache and background reinforcement."""
        from memory_system.memory.injection.injector import InjectionSources, Injector, load_injection_config

        sources = InjectionSources(
            db=self.db,
            memories=self.memories,
            sharing=self.sharing,
            graph=self.graph,
            preferences=self.preferences,
            code_patterns=self.code_patterns,
            retrieval=lambda: self.retrieval,
        )
        injector = Injector(
            sources,
            config=load_injection_config(self.settings),
            rag_timeout_ms=self.settings.rag_timeout_ms,
            shadow=self.shadow,
        )
        self.on_close(injector.close)
        return injector

    @cached_property
    def shadow(self) -> ShadowRunner:
        """Shadow mode (``injection.shadow_sample``): the enhanced cost of legacy answers, measured
        in the background; its thread (none at rate 0) stops at ``close``."""
        from memory_system.memory.injection.injector import load_injection_config
        from memory_system.memory.injection.shadow import ShadowRunner

        runner = ShadowRunner(float(load_injection_config(self.settings).get("shadow_sample", 0.0)))
        self.on_close(runner.close)
        return runner

    @cached_property
    def system_metadata(self) -> SystemMetadataStore:
        from memory_system.memory.typed.system_metadata import SystemMetadataStore

        return SystemMetadataStore(self.db)

    @cached_property
    def tier_policy(self) -> TierPolicy:
        """Tier thresholds from the config file's ``tiers`` section (defaults without one)."""
        from memory_system.memory.tiers.rules import load_tier_policy

        return load_tier_policy(self.settings.config_path)

    def run_tier_maintenance(self) -> TierMaintenanceReport:
        """One tier-maintenance pass under the current ``USE_HIERARCHICAL_TIERS`` value; during a
        percentage rollout only memories whose session (else agent) is in the rollout are touched."""
        from memory_system.flags.names import USE_HIERARCHICAL_TIERS
        from memory_system.memory.tiers.rules import maintain

        value = self.flags.value(USE_HIERARCHICAL_TIERS)
        if 0.0 < value < 1.0:

            def in_rollout(key: str) -> bool:
                return self.flags.enabled(USE_HIERARCHICAL_TIERS, key)

            return maintain(self.db, self.tier_policy, in_rollout, events=self.events)
        return maintain(self.db, self.tier_policy, value >= 1.0, events=self.events)

    def start_tier_maintenance(self, interval_s: float | None = None) -> TierMaintenanceThread:
        """Start the periodic tier maintenance (``serve`` calls this); stopped at ``close``."""
        from memory_system.memory.tiers.scheduler import TierMaintenanceThread

        thread = TierMaintenanceThread(
            self.run_tier_maintenance, interval_s or self.tier_policy.interval_seconds
        )
        thread.start()
        self.on_close(thread.stop)
        return thread

    def start_integrity_watch(self) -> IntegrityWatch:
        """Start the periodic ``quick_check`` of the database (``serve`` calls it); stopped at ``close``."""
        from memory_system.ops.integrity_watch import IntegrityWatch

        watch = IntegrityWatch(self.settings.db_path, self.settings.integrity_check_interval_s)
        watch.start()
        self.on_close(watch.stop)
        return watch

    @cached_property
    def alerts(self) -> AlertEngine:
        """The runbook's alert matrix over this process's metrics (``alerts`` config section)."""
        from memory_system.ops.alerts.config import load_alert_config
        from memory_system.ops.alerts.engine import AlertEngine
        from memory_system.ops.alerts.guard import AutoGuard
        from memory_system.ops.alerts.samples import read_registry
        from memory_system.ops.health import memory_limit_bytes

        limit_mb = self.settings.memory_limit_mb
        engine = AlertEngine(
            load_alert_config(self.settings.config_path),
            lambda now: read_registry(now, memory_limit_bytes(limit_mb)),
        )
        engine.on_transition(self.alert_recorder)  # first: the row is there when the guard acts
        if engine.config.guard:
            engine.on_transition(AutoGuard(self.flags, self.rollouts, on_trip=self._guard_incident))
        return engine

    def _guard_incident(self, change: AlertTransition, flags: list[str], why: str) -> None:
        """The guard's flag-off is runbook option A done by the service: an incident too."""
        from memory_system.ops import incidents

        rule = change.rule
        incidents.open_incident(
            self.db,
            incident_type="auto_guard",
            severity="SEV2",
            title=f"Auto guard: {rule.name} fired, {', '.join(flags)} turned off",
            reason=why,
            flags=flags,
            opened_by="auto_guard",
            details={"rule": rule.name, "value": change.value, "threshold": rule.threshold},
        )

    @cached_property
    def alert_recorder(self) -> AlertRecorder:
        """Every fire and resolve as an ``alert_events`` row; ``GET /admin/alerts/history``."""
        from memory_system.ops.alerts.recorder import AlertRecorder

        return AlertRecorder(self.db)

    @cached_property
    def rollouts(self) -> RolloutService:
        """Progressive rollouts of the flags (``rollout`` CLI, ``/admin/rollouts``)."""
        from memory_system.flags.rollout import RolloutService

        return RolloutService(self.flags)

    def start_rollout_driver(self) -> RolloutDriver:
        """Move running rollouts up a step when their hold has passed; stopped at ``close``."""
        from memory_system.flags.rollout import RolloutDriver

        driver = RolloutDriver(self.rollouts, self.settings.rollout_check_interval_s)
        driver.start()
        self.on_close(driver.stop)
        return driver

    def start_alert_watch(self) -> AlertWatch | None:
        """Evaluate the alerts every few seconds (``serve`` calls it; not with ``"enabled":
        false``), and drive rollouts beside it (even then); both stopped at ``close``."""
        from memory_system.ops.alerts.engine import AlertWatch

        self.start_rollout_driver()
        if not self.alerts.config.enabled:
            return None
        watch = AlertWatch(self.alerts)
        watch.start()
        self.on_close(watch.stop)
        return watch

    def start_notification_delivery(self) -> DeliveryWorker:
        """Send the notification outbox every few seconds (``serve`` calls it, legacy mode too:
        the outbox is in migration 006); stopped at ``close``."""
        from memory_system.ops.notify.delivery import DeliveryWorker

        worker = DeliveryWorker(self.db, self.settings)
        worker.start()
        self.on_close(worker.stop)
        return worker

    @cached_property
    def embedder(self) -> Embedder | None:
        """The embedding model ``settings.embedder`` names; None means full-text retrieval only."""
        from memory_system.memory.retrieval.embeddings import EmbedderUnavailable, make_embedder

        try:
            return make_embedder(self.settings.embedder)
        except EmbedderUnavailable:
            return None

    @cached_property
    def retrieval(self) -> Retrieval:
        """Hybrid search; starts the background embedding worker (stopped at ``close``)."""
        from memory_system.memory.retrieval.documents import DocumentOptions
        from memory_system.memory.retrieval.embeddings import semantic_available
        from memory_system.memory.retrieval.hybrid import Retrieval

        embedder = self.embedder
        reason = None
        if embedder is None:
            ok, missing = semantic_available()
            reason = "embedder disabled (embedder = none)" if ok else missing
        retrieval = Retrieval(
            self.db,
            embedder,
            unavailable_reason=reason,
            rag_timeout_ms=self.settings.rag_timeout_ms,
            index_memory_mb=self.settings.index_memory_mb,
            options=DocumentOptions.parse(self.settings.extra.get("embedding_document")),
        )
        self.events.on_written(retrieval.text.written)
        self.events.on_deleted(retrieval.text.deleted)
        if retrieval.worker is not None:
            self.events.on_written(retrieval.worker.notify)
            self.events.on_deleted(retrieval.worker.forget)
        self.on_close(retrieval.close)
        return retrieval

    def health_sources(self) -> HealthSources:
        """What ``/health/ready`` and ``/health/deep`` look at; retrieval only once it is built."""
        from memory_system.ops.health import HealthSources

        return HealthSources(
            db_path=self.settings.db_path,
            config_path=self.settings.config_path,
            embedder=self.settings.embedder,
            db=self.db,
            flags=self.flags,
            retrieval=lambda: vars(self).get("retrieval"),
            injection_cache=lambda: self.injector.cache,
        )

    def on_close(self, closer: Any) -> None:
        """Register a callable run at close (background workers, caches), newest first."""
        self._closers.append(closer)

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()
        self.db.close()
