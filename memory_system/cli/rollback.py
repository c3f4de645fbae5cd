"""``memory-system rollback a|b|c``: each runbook option as one command, each step timed."""

from __future__ import annotations

import typer

from memory_system.cli import rollback_a, rollback_b, rollback_c

app = typer.Typer(
    help="Runbook rollbacks: a (flags off), b (code: an earlier release), c (database: Phase 2-4 "
    "rolled back).",
    no_args_is_help=True,
)
app.command("a")(rollback_a.a)
app.command("b")(rollback_b.b)
app.command("c")(rollback_c.c)
