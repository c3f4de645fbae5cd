"""``memory-system release ...``: installed releases, each in its own virtualenv (runbook option B)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Releases: install one into its own virtualenv, list them, see which is current.",
    no_args_is_help=True,
)
