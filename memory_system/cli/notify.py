"""``memory-system notify``: try the notification channels, look at the outbox, send what is due."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, path_value, print_json
from memory_system.core.config import ConfigError
from memory_system.core.errors import ServiceError, StoreError
from memory_system.core.settings import DEFAULT_CONFIG_PATH, Settings

app = typer.Typer(
    help="Notices to the webhook and email: test the channels, list the outbox, deliver what is due.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        parser=path_value,
        help=f"JSON config file with the notifications section (default: $MEMORY_SYSTEM_CONFIG, "
        f"else {DEFAULT_CONFIG_PATH}).",
        show_default=False,
    ),
]


def _settings(db: Path | None, config: Path | None) -> Settings:
    from memory_system.core.settings_loader import load_settings

    try:
        return load_settings({"db_path": db, "config_path": config})
    except ConfigError as exc:
        fail(str(exc))


@app.command("test")
def test(
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel", help="webhook or email (default: every configured one).", show_default=False
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Send a test notice now on each configured channel; exit 1 with the error when one fails."""
    from memory_system.ops.notify.outbox import send_test

    settings = _settings(None, config)
    try:
        results = send_test(settings, channel)
    except ServiceError as exc:
        fail(str(exc))
    for name, error in results.items():
        if error is None:
            console.print(f"{name}: sent", highlight=False)
    failed = {name: error for name, error in results.items() if error is not None}
    if failed:
        fail("; ".join(f"{name}: {error}" for name, error in failed.items()))


@app.command("list")
def list_command(
    db: DbOption = None,
    state: Annotated[
        str | None,
        typer.Option("--state", help="Only pending, sent or failed notices.", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    json_out: JsonOption = False,
) -> None:
    """The outbox, newest first: id, channel, template, state, attempts, created, last error."""
    from memory_system.cli._tables import new_table, print_table
    from memory_system.ops.notify.outbox import list_outbox

    path = db_path(db)
    try:
        found = list_outbox(path, state=state, limit=limit)
    except (ServiceError, StoreError) as exc:
        fail(str(exc))
    if json_out:
        print_json(found)
        return
    table = new_table(
        "id",
        "channel",
        "template",
        "state",
        "attempts",
        "created (UTC)",
        "next try / sent (UTC)",
        "last error",
        whole=("id", "created (UTC)", "next try / sent (UTC)"),
        title=f"notifications in {path}",
    )
    for n in found:
        table.add_row(
            str(n["id"]),
            _channel(n),
            n["template"],
            n["state"],
            str(n["attempts"]),
            n["created_at"],
            _when(n),
            n["last_error"] or "-",
        )
    print_table(console, table)
    if not found:
        console.print("no notification recorded" + (f" ({state})" if state else ""), highlight=False)


def _when(notice: dict[str, Any]) -> str:
    if notice["state"] == "sent":
        return str(notice["sent_at"])
    return str(notice["next_attempt_at"]) if notice["state"] == "pending" else "-"


def _channel(notice: dict[str, Any]) -> str:
    if notice["channel"] == "email":
        return f"email to {', '.join(notice['recipients'])}"
    return str(notice["channel"])


@app.command("deliver")
def deliver(db: DbOption = None, config: ConfigOption = None, json_out: JsonOption = False) -> None:
    """Send the due notices now (what the service's worker does every few seconds)."""
    from memory_system.ops.notify.outbox import deliver_due

    settings = _settings(db, config)
    try:
        report = deliver_due(settings.db_path, settings)
    except (ServiceError, StoreError) as exc:
        fail(str(exc))
    if json_out:
        print_json({"sent": report.sent, "retrying": report.retrying, "gave_up": report.gave_up})
        return
    console.print(
        f"{len(report.sent)} sent, {len(report.retrying)} to retry, {len(report.gave_up)} given up",
        highlight=False,
    )
    if report.retrying or report.gave_up:
        raise typer.Exit(1)
