"""``memory-system rollback b``: code rollback to an installed release (runbook option B)."""

from __future__ import annotations

from typing import Annotated

import typer

from memory_system.cli._common import DbOption, JsonOption, console, db_path, fail, print_json
from memory_system.cli.release import DirOption
from memory_system.cli.rollback_a import print_step
from memory_system.ops import releases
from memory_system.ops.runbook import option_b


def b(
    to: Annotated[
        str, typer.Option("--to", help="The release to run: version, release name or commit prefix.")
    ],
    db: DbOption = None,
    directory: DirOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before restarting the service.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Roll the code back (or forward) to an installed release: check it runs on this schema,
    switch 'current', restart the service (drained), wait for ready, verify B; each step timed."""
    path = db_path(db)
    where = releases.releases_dir(directory)
    if not yes and not typer.confirm(f"restart the service on {path} as release {to!r}?", default=False):
        fail("not confirmed: nothing changed (pass --yes to skip the question)")
    result = option_b.run(path, to, directory=where, report=(lambda step: None) if json_out else print_step)
    if json_out:
        print_json(result.to_dict())
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
