"""``memory-system drill a|b|c`` and ``drill history``: rollback drills on a scratch copy
(runbook section 7); the behaviour is ``ops/drills.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, path_value, print_json
from memory_system.cli._tables import new_table, print_table
from memory_system.cli.release import DirOption
from memory_system.core.errors import StoreError
from memory_system.ops import drills
from memory_system.ops.drill_report import history as drill_history

app = typer.Typer(
    help="Rehearse a rollback option on a scratch copy of the database; list past drills.",
    no_args_is_help=True,
)

ReportDirOption = Annotated[
    Path | None,
    typer.Option(
        "--report-dir",
        parser=path_value,
        help="Where the markdown and JSON reports go (default: <db>.drills/ beside the database).",
        show_default=False,
    ),
]
KeepOption = Annotated[
    bool, typer.Option("--keep", help="Keep the scratch folder (its path is in the report) for a look.")
]


def _run(request: drills.DrillRequest, json_out: bool) -> None:
    try:
        result = drills.run_drill(request)
    except (drills.DrillError, StoreError) as exc:
        fail(str(exc))
    if json_out:
        print_json(result.to_dict())
    else:
        report = result.report
        for step in report.steps:
            mark = "[green]ok[/]  " if step.ok else "[bold red]FAIL[/]"
            console.print(
                f"{mark} {step.name} ({step.seconds:.2f} s): {step.detail}", highlight=False, soft_wrap=True
            )
        for note in report.notes:
            console.print(f"note: {note}", highlight=False, soft_wrap=True)
        for failure in report.failures:
            console.print(f"[bold red]failure:[/] {failure}", highlight=False, soft_wrap=True)
        colour = "green" if report.ok else "bold red"
        console.print(
            f"[{colour}]drill {report.option} {report.outcome} in {report.seconds:.1f} s[/]; "
            f"report {result.markdown_path}",
            highlight=False,
            soft_wrap=True,
        )
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def a(
    db: DbOption = None,
    report_dir: ReportDirOption = None,
    keep: KeepOption = False,
    json_out: JsonOption = False,
) -> None:
    """Drill option A on a scratch copy: rollback a, then the flags back by gradual rollout."""
    _run(drills.DrillRequest("a", db_path(db), report_dir, keep), json_out)


@app.command()
def b(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="The release to roll back to (default: the one installed before the current; "
            "none: a restart into the same release, said in the report).",
            show_default=False,
        ),
    ] = None,
    directory: DirOption = None,
    db: DbOption = None,
    report_dir: ReportDirOption = None,
    keep: KeepOption = False,
    json_out: JsonOption = False,
) -> None:
    """Drill option B on a scratch copy and a scratch releases folder: rollback b, then back."""
    _run(drills.DrillRequest("b", db_path(db), report_dir, keep, to=to, releases_dir=directory), json_out)


@app.command()
def c(
    db: DbOption = None,
    report_dir: ReportDirOption = None,
    keep: KeepOption = False,
    json_out: JsonOption = False,
) -> None:
    """Drill option C on a scratch copy: rollback c (throwaway approvers), then db migrate,
    serve --migrate and the flags by gradual rollout."""
    _run(drills.DrillRequest("c", db_path(db), report_dir, keep), json_out)


@app.command()
def history(
    option: Annotated[
        str | None,
        typer.Option("--option", help="Only drills of this option (a, b or c).", show_default=False),
    ] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Past drills, newest first: option, outcome, when, how long, the report."""
    if option is not None and option not in drills.OPTIONS:
        fail(f"--option must be a, b or c, not {option!r}")
    path = db_path(db)
    try:
        found = drill_history(path, option)
    except StoreError as exc:
        fail(str(exc))
    if json_out:
        print_json({"drills": [d.to_dict() for d in found]})
        return
    if not found:
        console.print("no drill yet: run 'memory-system drill a' (or b, c)", highlight=False)
        return
    table = new_table(
        "id", "option", "outcome", "started (UTC)", "seconds", "report", whole=("started (UTC)",)
    )
    for d in found:
        table.add_row(
            str(d.id), d.option, d.outcome, d.started_at, f"{d.duration_seconds:.1f}", d.report_path or "-"
        )
    print_table(console, table)
