"""Every CLI command is documented: it has help text and the README names it."""

from __future__ import annotations

from pathlib import Path

import click
import typer

from memory_system.cli import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands(
    group: click.Command, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found = []
    if hasattr(group, "commands"):
        for name, command in group.commands.items():
            path = (*prefix, name)
            found.append((path, command))
            found.extend(_commands(command, path))
    return found


def test_every_command_has_help_text() -> None:
    missing = [
        " ".join(path)
        for path, command in _commands(typer.main.get_command(app))
        if not (command.help or command.short_help)
    ]
    assert missing == []


def test_every_command_is_named_in_the_readme() -> None:
    undocumented = [
        " ".join(path)
        for path, _ in _commands(typer.main.get_command(app))
        if f"memory-system {' '.join(path)}" not in README
    ]
    assert undocumented == []
