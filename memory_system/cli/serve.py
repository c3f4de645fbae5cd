"""``memory-system serve``: run the HTTP service until SIGTERM (see server/lifecycle.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memory_system.cli._common import DbOption, fail, path_value
from memory_system.core.config import ConfigError


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="TCP port (default 8080).")] = None,
    db: DbOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            parser=path_value,
            help="JSON config file (default $MEMORY_SYSTEM_CONFIG, else "
            "/etc/memory-system/config.json; re-read on SIGHUP).",
            show_default=False,
        ),
    ] = None,
    log_file: Annotated[
        Path | None,
        typer.Option("--log-file", parser=path_value, help="Also append JSON log lines to this file."),
    ] = None,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Local development: no agent tokens (X-Agent-Id / X-Namespace "
            "headers say who calls); refuses any non-loopback --host.",
        ),
    ] = False,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate",
            help="Apply pending migrations on start even when one was rolled back on purpose "
            "(brings a legacy-mode database back to the full schema).",
        ),
    ] = False,
    no_migrate: Annotated[
        bool,
        typer.Option(
            "--no-migrate",
            help="Never apply migrations on start (for operators "
            "who migrate separately); /health/ready stays 503 while the schema is behind.",
        ),
    ] = False,
) -> None:
    """Run the service. Applies pending migrations first, except with --no-migrate, or when the
    newest rollback undid a migration that is still absent (runbook option C): then the service
    runs in legacy mode (Phase 2-4 rolled back) until 'db migrate' or 'serve --migrate'."""
    from memory_system.core.logging import configure_logging
    from memory_system.core.settings_loader import load_settings
    from memory_system.server.lifecycle import ServiceStartError, run_service

    if migrate and no_migrate:
        fail("--migrate and --no-migrate contradict each other; pass one of them (or neither)")
    options: dict[str, object] = {
        "host": host,
        "port": port,
        "db_path": db,
        "config_path": config,
        "log_file": log_file,
        "dev": dev,
    }
    try:
        settings = load_settings(options)
    except ConfigError as exc:
        fail(str(exc))
    try:
        configure_logging(settings.log_file)
    except OSError as exc:
        fail(f"cannot open log file {settings.log_file}: {exc.strerror}; choose another --log-file")
    try:
        code = run_service(settings, options, migrate=True if migrate else (False if no_migrate else None))
    except ServiceStartError as exc:
        fail(str(exc))
    raise typer.Exit(code)
