"""``memory-system entities ...``: Phase 1 knowledge graph import, export and a quick look."""

from __future__ import annotations

import typer

app = typer.Typer(help="Phase 1 entity memory: import, export, show.", no_args_is_help=True)
