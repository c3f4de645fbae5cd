"""``memory-system rollback b``: code rollback to an installed release (runbook option B)."""

from __future__ import annotations

from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, print_json
from memory_system.cli.release import DirOption
from memory_system.cli.rollback_a import ReasonOption, SeverityOption, actor, print_step, quiet, say
from memory_system.ops import releases
from memory_system.ops.runbook import incident_log, option_b


def b(
    to: Annotated[
        str, typer.Option("--to", help="The release to run: version, release name or commit prefix.")
    ],
    db: DbOption = None,
    directory: DirOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before restarting the service.")] = False,
    reason: ReasonOption = "runbook option B",
    severity: SeverityOption = None,
    json_out: JsonOption = False,
) -> None:
    """Roll the code back (or forward) to an installed release: check it runs on this schema,
    switch 'current', restart the service (drained), wait for ready, verify B; each step timed."""
    path = db_path(db)
    where = releases.releases_dir(directory)
    if not yes and not typer.confirm(f"restart the service on {path} as release {to!r}?", default=False):
        fail("not confirmed: nothing changed (pass --yes to skip the question)")
    incident = incident_log.DeferredIncident(
        lambda: incident_log.open_rollback_incident(
            path, "b", reason=f"{reason} (to {to})", actor=actor("b"), severity=severity
        ),
        quiet if json_out else print_step,
        say(json_out),
        after=option_b.PRECONDITION_STEP,
    )
    result = option_b.run(path, to, directory=where, report=incident)
    incident_id = incident.finish(
        result.procedure,
        result.checks,
        downtime_s=result.downtime_s,
        data_loss={},
        details={"target": result.target},
    )
    if json_out:
        print_json({**result.to_dict(), "incident": incident_id})
    elif result.ok:
        console.print(
            f"[green]rollback b to {result.target}: done in {result.procedure.seconds:.1f} s, "
            f"downtime {result.downtime_s} s[/]",
            highlight=False,
        )
    if not result.ok:
        failed = next((s for s in result.procedure.steps if not s.ok), None)
        reason = f"{failed.name}: {failed.detail}" if failed else "no step ran"
        if json_out:
            raise typer.Exit(1)
        fail(f"rollback b stopped at {reason}")
