"""``memory-system maintain``: one pass of the tier rules now (the service also runs it periodically)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, print_json
from memory_system.core.config import ConfigError

_LABELS = (
    ("promoted_to_short_term", "working -> short_term"),
    ("promoted_to_long_term", "short_term -> long_term"),
    ("decayed", "importance decayed"),
    ("expired_working", "working deleted (session over)"),
    ("forgotten", "short_term deleted (faded)"),
    ("expired", "deleted (past expires_at)"),
    ("skipped_flag_off", "skipped (flag off for them)"),
)


def maintain(
    db: DbOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="JSON config file with the 'tiers' thresholds and 'featureFlags' "
            "(default $MEMORY_SYSTEM_CONFIG, else /etc/memory-system/config.json).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Apply the tier rules once: promote, decay and expire memories (nothing while
    USE_HIERARCHICAL_TIERS is off)."""
    from memory_system.core.errors import StoreError
    from memory_system.core.settings_loader import resolve_config_path
    from memory_system.runtime import open_runtime

    config_path = resolve_config_path(config)
    path = db_path(db)
    try:
        runtime = open_runtime(path, config_path=config_path)
    except StoreError as exc:
        fail(str(exc))
    try:
        report = runtime.run_tier_maintenance()
    except ConfigError as exc:
        fail(f"{exc}; fix the config file {config_path}")
    except StoreError as exc:  # a missing table says to run 'db migrate'; the others say what to do
        fail(str(exc))
    finally:
        runtime.close()
    if json_out:
        print_json(report.to_dict())
        return
    if not report.enabled:
        console.print(report.message, highlight=False)
        return
    for key, label in _LABELS:
        console.print(f"{label:34} {getattr(report, key)}", highlight=False)
    deleted = len(report.deleted_ids)
    console.print(
        f"maintenance done: {report.promoted_to_short_term + report.promoted_to_long_term} promoted, "
        f"{report.decayed} decayed, {deleted} deleted",
        highlight=False,
    )
