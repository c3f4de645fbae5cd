"""The ``memory-system`` command: a thin layer over the service layer.

Each command parses its options, calls one library function, and renders the result;
behaviour and errors live in the library.
"""

from __future__ import annotations

import typer

from memory_system.cli import approve as approve_cli
from memory_system.cli import db, entities
from memory_system.cli import drill as drill_cli
from memory_system.cli import embed as embed_cli
from memory_system.cli import flags as flags_cli
from memory_system.cli import incident as incident_cli
from memory_system.cli import maintain as maintain_cli
from memory_system.cli import mcp as mcp_cli
from memory_system.cli import notify as notify_cli
from memory_system.cli import release as release_cli
from memory_system.cli import rollback as rollback_cli
from memory_system.cli import rollout as rollout_cli
from memory_system.cli import serve as serve_cli
from memory_system.cli import tokens as tokens_cli
from memory_system.cli import verify as verify_cli

app = typer.Typer(
    name="memory-system",
    help="Self-hosted memory service for AI agents: run it, operate it, roll it back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(entities.app, name="entities")
app.command("mcp")(mcp_cli.mcp)
app.add_typer(tokens_cli.app, name="tokens")
app.command("serve")(serve_cli.serve)
app.add_typer(flags_cli.app, name="flags")
app.command("maintain")(maintain_cli.maintain)
app.command("embed")(embed_cli.embed)
app.command("verify")(verify_cli.verify)
app.add_typer(rollback_cli.app, name="rollback")
app.add_typer(rollout_cli.app, name="rollout")
app.command("approve")(approve_cli.approve)
app.add_typer(release_cli.app, name="release")
app.add_typer(incident_cli.app, name="incident")
app.add_typer(drill_cli.app, name="drill")
app.add_typer(notify_cli.app, name="notify")


@app.command()
def version() -> None:
    """Print the release version, the git commit it was built from, and the schema version it expects."""
    from memory_system.core.build import build_info
    from memory_system.ops.schema import expected_version

    info = build_info()
    typer.echo(f"memory-system {info.version} (commit {info.short_commit}, schema {expected_version()})")


def main() -> None:
    app()
