"""The service process from start to exit: lock, migrate, serve, drain, close.

uvicorn runs under our control (``server/signals.py``). What the signals do:

- SIGTERM / SIGINT: readiness starts failing at once; after ``shutdown_delay_s`` (time for a
  load balancer to notice) the listener closes, in-flight requests get up to
  ``drain_timeout_s`` to finish, then the database is closed (WAL checkpointed) and the
  process exits 0. A second SIGINT forces the exit.
- SIGHUP: the config file is re-read. A broken file is refused and logged; the previous
  configuration stays in force, and readiness keeps answering (the config is still loaded).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import os
import sys
import time
from collections.abc import Mapping

import uvicorn
from threadpoolctl import threadpool_limits

from memory_system import __version__
from memory_system.api.app import create_app
from memory_system.core.build import build_info
from memory_system.core.clock import utc_now
from memory_system.core.config import ConfigError
from memory_system.core.errors import StoreError
from memory_system.core.logging import log_event
from memory_system.core.settings import Settings
from memory_system.core.settings_loader import load_settings, reloadable_changes
from memory_system.flags.sources import read_config_file, read_env
from memory_system.memory.injection.injector import load_injection_config
from memory_system.memory.tiers.rules import load_tier_policy
from memory_system.memory.typed.policy import load_typed_store_policy
from memory_system.ops import schema, service_record
from memory_system.ops.alerts.config import load_alert_config
from memory_system.ops.health import ServiceState, file_identity
from memory_system.runtime import Runtime
from memory_system.server.signals import ManagedServer
from memory_system.store.lockfile import ServiceLock

logger = logging.getLogger("memory_system.lifecycle")


class ServiceStartError(Exception):
    """The service refuses to start; the message says why and what to do."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def reload_config(
    runtime: Runtime, state: ServiceState, options: Mapping[str, object], env: Mapping[str, str] | None = None
) -> bool:
    """Re-read the config file into the running process; False (and nothing changed) if broken."""
    path = str(runtime.settings.config_path)
    try:
        fresh = load_settings(options, env)
        runtime.flags.reload_config()
    except ConfigError as exc:
        state.config_error = str(exc)
        log_event(
            logger,
            "config_reload_failed",
            logging.ERROR,
            path=path,
            error=str(exc),
            outcome="refused; the previous configuration stays in force",
        )
        return False
    changed = reloadable_changes(runtime.settings, fresh)
    for name, value in changed.items():
        setattr(runtime.settings, name, value)
    state.config_error = None
    state.config_loaded_at = utc_now()
    log_event(logger, "config_reloaded", path=path, changed=sorted(changed))  # names only: never the token
    return True


def _acquire_lock(settings: Settings) -> ServiceLock:
    settings.db_path.parent.mkdir(parents=True, exist_ok=True)
    lock = ServiceLock(settings.db_path)
    lock.acquire()
    return lock


def _check_config_file(settings: Settings) -> None:
    """The config file's sections that other modules parse, and the flag variables of the
    environment, checked before the database is touched: a typo in ``featureFlags``,
    ``injection``, ``tiers``, ``typedStores`` or ``USE_*=maybe`` must stop the start, not half
    of it (a migration already applied), nor the first request that reads the section."""
    read_env(os.environ)
    read_config_file(settings.config_path)
    load_injection_config(settings)
    load_tier_policy(settings.config_path)
    load_typed_store_policy(settings.config_path)
    load_alert_config(settings.config_path)


def _warm_up(runtime: Runtime) -> None:
    """Build the services that run in the background, so none waits for a first request:
    the retrieval service (loads the embedding model, starts the embedding worker), the
    tier maintenance thread and the periodic integrity check. All stop in ``runtime.close``.
    In legacy mode (migration 004 rolled back) the first two have no tables and do not start."""
    started = time.perf_counter()
    # One BLAS thread: requests already run in parallel threads on few cores, and a two-thread
    # vector scan beside the full-text query slowed injection (benchmarks/injection.py: 100k
    # miss p95 49 -> 37 ms over HTTP, see BENCHMARKS.md).
    threadpool_limits(limits=1, user_api="blas")
    if not runtime.phase_2_rolled_back():
        runtime.retrieval.preload()  # indexes load in the background; FTS5 answers meanwhile
        runtime.start_tier_maintenance()
    runtime.start_integrity_watch()
    runtime.start_alert_watch()
    runtime.start_notification_delivery()
    log_event(
        logger,
        "service_warmed",
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        embedder=runtime.settings.embedder,
    )


def _held_back(settings: Settings, migrate: bool | None) -> frozenset[int] | None:
    """What a start must not migrate: None for nothing at all (``--no-migrate``), else the
    migrations to skip. ``serve --migrate`` skips none; by default a new or merely behind
    database is migrated, except the migrations an operator rolled back on purpose (runbook
    option C): a restart must not silently re-apply them, and the database is served in legacy
    mode, with any new base migration (006 and later) applied all the same."""
    if migrate is False:
        return None
    if migrate:
        return frozenset()
    return schema.rolled_back_on_purpose(settings.db_path)


def _say_legacy(settings: Settings, forced_off: bool) -> None:
    """The WARNING an operator must see when the service starts without Phase 2-4."""
    try:
        current = schema.status(settings.db_path)
    except StoreError:
        return  # no database yet: the runtime's open says what to do
    if current.state != "legacy" and (forced_off or current.state != "behind"):
        return
    log_event(
        logger,
        "legacy_mode",
        logging.WARNING,
        db=str(settings.db_path),
        schema_version=current.current_version,
        applied=sorted(current.applied_versions),
        expected_schema_version=current.expected_version,
        state=current.state,
        reason="started with --no-migrate" if forced_off else "a migration was rolled back on purpose",
        restore=f"{schema.restore_command(settings.db_path)} (or restart with 'serve --migrate')",
        outcome=(
            "Phase 1 serves; Phase 2-4 routes answer 409 rolled_back"
            if current.state == "legacy"
            else "not ready: this schema is not a state to run in"
        ),
    )


def run_service(settings: Settings, options: Mapping[str, object], *, migrate: bool | None = None) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code. Raises ServiceStartError before serving.

    ``migrate``: True always applies pending migrations, False never, None (the default) unless
    a migration was rolled back on purpose (``_should_migrate``)."""
    if settings.dev and not is_loopback(settings.host):
        raise ServiceStartError(
            f"--dev turns agent authentication off, so it binds only to loopback; {settings.host} is not. "
            "Use --host 127.0.0.1, or drop --dev and issue tokens with 'memory-system tokens create'"
        )
    try:
        _check_config_file(settings)
    except ConfigError as exc:
        raise ServiceStartError(str(exc)) from exc
    try:
        lock = _acquire_lock(settings)
    except (StoreError, OSError) as exc:
        raise ServiceStartError(str(exc)) from exc
    service_record.record_start(settings, sys.argv, os.environ)  # how to restart it (rollback b)
    runtime: Runtime | None = None
    try:
        held_back = _held_back(settings, migrate)
        if held_back is not None:
            mended = schema.mend(settings.db_path) if settings.db_path.exists() else []
            for earlier in mended:
                log_event(
                    logger,
                    "migration_mended",
                    logging.WARNING,
                    db=str(settings.db_path),
                    migration=earlier.version,
                    applied_from=earlier.commit,
                    change=earlier.change,
                )
            applied = schema.migrate(settings.db_path, skip=held_back)
            log_event(
                logger,
                "schema_migrated",
                db=str(settings.db_path),
                applied=[f"{m.version:03d}_{m.name}" for m in applied],
            )
        if held_back is None or held_back:
            _say_legacy(settings, forced_off=held_back is None)
        runtime = live = Runtime(settings)
        state = ServiceState(db_identity=file_identity(settings.db_path))
        runtime.flags  # noqa: B018 - a broken config file must stop the start, not the first request
        try:
            _warm_up(runtime)
        except ValueError as exc:  # a bad embedder setting (names itself): one line, not a traceback
            raise ServiceStartError(str(exc)) from exc
        app = create_app(runtime)
        app.state.service = state
        if importlib.util.find_spec("mcp") is not None:  # the optional 'mcp' extra
            from memory_system.mcp.http import mount

            mount(app, runtime)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=settings.drain_timeout_s,  # type: ignore[arg-type]
            server_header=False,
        )
        server = ManagedServer(
            config, state, lambda: reload_config(live, state, options), settings.shutdown_delay_s
        )
        log_event(
            logger,
            "service_starting",
            version=__version__,
            commit=build_info().commit,
            host=settings.host,
            port=settings.port,
            db=str(settings.db_path),
            dev=settings.dev,
            pid=os.getpid(),
            admin_api="enabled" if settings.admin_token else "disabled (no admin token configured)",
        )
        try:
            server.run()
        except SystemExit as exc:  # uvicorn exits when it cannot bind
            raise ServiceStartError(
                f"cannot listen on {settings.host}:{settings.port} (in use, or not an address of this "
                "machine; see the log line above); choose another --host/--port"
            ) from exc
        if not server.started:
            return 1
    except (StoreError, ConfigError) as exc:
        raise ServiceStartError(str(exc)) from exc
    finally:
        if runtime is not None:
            runtime.close()
        lock.release()
    log_event(logger, "service_stopped", db=str(settings.db_path), clean=True)
    return 0
