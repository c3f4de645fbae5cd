"""``memory-system release ...``: installed releases, each in its own virtualenv (runbook option B)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from memory_system.cli._common import JsonOption, console, fail, path_value, print_json
from memory_system.ops import releases

app = typer.Typer(
    help="Releases: install one into its own virtualenv, list them, see which is current.",
    no_args_is_help=True,
)

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        parser=path_value,
        help="Releases directory (default: $MEMORY_SYSTEM_RELEASES_DIR, else /opt/memory-system/releases).",
        show_default=False,
    ),
]


@app.command()
def install(
    source: Annotated[
        str,
        typer.Argument(
            help="A version (0.1.0), a git ref (v0.1.0, a commit), a .whl file or a source directory."
        ),
    ],
    directory: DirOption = None,
    extras: Annotated[
        str, typer.Option("--extras", help="Extras to install, comma-separated ('' for none).")
    ] = "server",
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo",
            parser=path_value,
            help="Git repository of the ref (default: this checkout).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Install a release into DIR/<version>-<commit>/ (its own virtualenv); it does not become current."""
    wanted = [e.strip() for e in extras.split(",") if e.strip()]
    progress = (lambda line: None) if json_out else (lambda line: console.print(line, highlight=False))
    try:
        release = releases.install(
            source, directory=releases.releases_dir(directory), extras=wanted, repo=repo, progress=progress
        )
    except (releases.ReleaseError, OSError) as exc:
        fail(f"cannot install {source}: {exc}")
    if json_out:
        print_json(release.to_dict())
    else:
        console.print(f"{release.name}: {release.executable}", highlight=False)


@app.command("list")
def list_(directory: DirOption = None, json_out: JsonOption = False) -> None:
    """Installed releases: version, commit, the schema each expects, and which is current."""
    where = releases.releases_dir(directory)
    found = releases.list_releases(where)
    if json_out:
        print_json({"dir": str(where), "releases": [r.to_dict() for r in found]})
        return
    if not found:
        console.print(f"no releases in {where}; install one with 'memory-system release install VERSION'")
        return
    for r in found:
        mark = "*" if r.current else " "
        console.print(
            f"{mark} {r.name}  version {r.version}  commit {r.short_commit}  schema {r.expected_schema}  "
            f"installed {r.installed_at}  ({r.ref})",
            highlight=False,
            soft_wrap=True,
        )


@app.command()
def use(
    version: Annotated[str, typer.Argument(help="Version, release directory name, or commit prefix.")],
    directory: DirOption = None,
    json_out: JsonOption = False,
) -> None:
    """Point the 'current' link at a release (atomically); restart the service to run it."""
    try:
        release = releases.use(releases.releases_dir(directory), version)
    except (releases.ReleaseError, OSError) as exc:
        fail(str(exc))
    if json_out:
        print_json(release.to_dict())
    else:
        console.print(f"current -> {release.name}", highlight=False)
