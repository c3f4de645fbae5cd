"""``memory-system incident``: the incident log (list, show, close, note) and postmortem drafts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, path_value, print_json
from memory_system.core.errors import ServiceError, StoreError

app = typer.Typer(
    help="The incident log: list, show, close, note, and postmortem drafts.", no_args_is_help=True
)

IdArgument = Annotated[int, typer.Argument(metavar="N", help="The incident id 'incident list' shows.")]
ByOption = Annotated[str, typer.Option("--by", help="Who is doing this (your name).")]


@app.command("list")
def list_command(
    db: DbOption = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only open or closed incidents.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 50,
    json_out: JsonOption = False,
) -> None:
    """Incidents, newest first: id, severity, type, status, start, duration, title."""
    from memory_system.cli._tables import new_table, print_table
    from memory_system.ops.incidents import list_incidents

    if status is not None and status not in ("open", "closed"):
        fail(f"--status must be open or closed, not {status!r}")
    path = db_path(db)
    try:
        found = list_incidents(path, status=status, limit=limit)
    except (ServiceError, StoreError) as exc:
        fail(str(exc))
    if json_out:
        print_json(found)
        return
    table = new_table(
        "id", "severity", "type", "status", "started (UTC)", "duration", "title", title=f"incidents in {path}"
    )
    for i in found:
        table.add_row(
            str(i["id"]),
            i["severity"],
            i["incident_type"],
            i["status"],
            i["started_at"],
            _duration(i["duration_seconds"]),
            i["title"] or "-",
        )
    print_table(console, table)
    if not found:
        console.print("no incident recorded" + (f" ({status})" if status else ""), highlight=False)


@app.command("show")
def show(incident_id: IdArgument, db: DbOption = None, json_out: JsonOption = False) -> None:
    """One incident: its facts, impact, checklist results and notes."""
    from memory_system.ops.incidents import get_incident

    try:
        i = get_incident(db_path(db), incident_id)
    except (ServiceError, StoreError) as exc:
        fail(str(exc))
    if json_out:
        print_json(i)
        return
    lines = [
        f"incident {i['id']}: {i['title'] or '-'} [{i['severity']}, {i['incident_type']}, {i['status']}]",
        f"reason: {i['reason'] or '-'}",
        f"flags: {', '.join(i['flags']) if isinstance(i['flags'], list) and i['flags'] else '-'}",
        f"opened by: {i['opened_by'] or '-'}",
        f"started: {i['started_at']}; ended: {i['ended_at'] or 'still open'}; "
        f"duration: {_duration(i['duration_seconds'])}",
        f"downtime: {_duration(i['downtime_seconds'])}; sessions affected: "
        f"{'-' if i['sessions_affected'] is None else i['sessions_affected']}",
        f"data lost: {'-' if i['data_loss'] in (None, '') else i['data_loss']}",
        f"backup: {i['backup_location'] or '-'}",
    ]
    for item in i["checklist"] if isinstance(i["checklist"], list) else []:
        verdict = "ok" if item.get("ok") else "FAILED"
        lines.append(
            f"check: {item.get('check')}: {verdict}" + (f" ({item['detail']})" if item.get("detail") else "")
        )
    for note in i["notes"]:
        lines.append(f"note {note['created_at']} {note['author']}: {note['body']}")
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


@app.command("close")
def close(
    incident_id: IdArgument,
    by: ByOption,
    db: DbOption = None,
    note: Annotated[
        str | None, typer.Option("--note", help="A closing note (what ended it).", show_default=False)
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """End an open incident now (its end time and duration are set); a closed one is refused."""
    from memory_system.ops.incidents import close_incident

    try:
        closed = close_incident(db_path(db), incident_id, by=by, note=note)
    except (ServiceError, StoreError) as exc:
        fail(str(exc))
    if json_out:
        print_json(closed)
        return
    console.print(
        f"incident {closed['id']} closed at {closed['ended_at']} "
        f"after {_duration(closed['duration_seconds'])}; "
        f"'memory-system incident postmortem {closed['id']}' drafts the postmortem",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


@app.command("note")
def note(
    incident_id: IdArgument,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What was seen or done.")],
    by: ByOption,
    db: DbOption = None,
) -> None:
    """Add a note to an incident's timeline (closed incidents take notes too)."""
    from memory_system.ops.incidents import add_note

    try:
        note_id = add_note(db_path(db), incident_id, author=by, body=text)
    except (ServiceError, StoreError) as exc:
        fail(str(exc))
    console.print(f"note {note_id} added to incident {incident_id}", highlight=False)


@app.command("postmortem")
def postmortem(
    incident_id: IdArgument,
    db: DbOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", parser=path_value, help="Write the draft to this file.", show_default=False),
    ] = None,
) -> None:
    """A postmortem draft in markdown: summary, impact, timeline, checklist, the runbook's questions,
    due 48 h after the start; printed, or written to --out."""
    from memory_system.ops.postmortem import build_postmortem

    try:
        draft = build_postmortem(db_path(db), incident_id)
    except (ServiceError, StoreError) as exc:
        fail(str(exc))
    if out is None:
        typer.echo(draft, nl=False)
        return
    if out.is_dir():
        fail(f"--out {out} is a folder; name a file, e.g. {out / f'postmortem-{incident_id}.md'}")
    try:
        out.write_text(draft, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}; choose another --out")
    console.print(
        f"postmortem draft for incident {incident_id} written to {out}", highlight=False, markup=False
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
