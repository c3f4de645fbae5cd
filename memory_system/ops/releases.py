"""Installed releases, each in its own virtualenv, and the ``current`` link (runbook option B).

A code rollback is only as fast as the release it rolls back to is ready: so every release
is installed beforehand into ``<releases dir>/<version>-<shortcommit>/`` (a complete
virtualenv with ``bin/memory-system``) and ``current`` is a symlink to the one in use. The
systemd unit runs ``<releases dir>/current/bin/memory-system``; switching is one atomic
rename of a new link over the old one.

Sources ``install`` takes:

- a git ref (tag ``v0.1.0``, a commit) of a repository (default: the checkout this code runs
  from): ``git archive`` of that tree, then ``pip install 'TREE[server]'``;
- a version ``0.1.0``: the installed release of that version, else the tag ``v0.1.0``;
- a ``.whl`` file, or a source directory (a checkout, as it is on disk).

Each release records ``release.json``: version, commit, ref, python, installed_at and the
schema version it expects, asked of the release itself (its own ``memory_system``).
``memory_system/_build.json`` in its site-packages tells the release its commit
(``core/build.py``), so ``version`` and ``/health/ready`` say which build runs.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from memory_system.core.build import BUILD_FILE_NAME, UNKNOWN, package_dir
from memory_system.core.clock import utc_now

DEFAULT_DIR = Path("/opt/memory-system/releases")
ENV_DIR = "MEMORY_SYSTEM_RELEASES_DIR"
RELEASE_FILE = "release.json"
CURRENT = "current"
VERSION_PATTERN = re.compile(r"^\d+\.\d+(\.\d+)?([.+-][0-9A-Za-z.+-]*)?$")
PIP_TIMEOUT_S = 1800
# Asked of the release's own interpreter, isolated (-I): neither this checkout nor PYTHONPATH
# may answer in its place.
INSPECT = (
    "import json, platform, memory_system; from memory_system.store import migrations\n"
    "try:\n    from memory_system.core.build import build_info; commit = build_info().commit\n"
    "except Exception:\n    commit = 'unknown'\n"
    "known = migrations.load_migrations()\n"
    "print(json.dumps({'version': memory_system.__version__, 'expected_schema': len(known),"
    " 'migrations': {str(m.version): m.checksum for m in known},"
    " 'python': platform.python_version(), 'package_dir': memory_system.__path__[0], 'commit': commit}))"
)

Progress = Callable[[str], None]


class ReleaseError(Exception):
    """A release cannot be installed, found or used; the message says why and what to do."""


@dataclass
class Release:
    name: str
    path: str
    version: str
    commit: str
    ref: str
    source: str  # "git", "wheel" or "directory"
    python: str
    installed_at: str
    expected_schema: int
    extras: list[str]
    migrations: dict[str, str] = field(default_factory=dict)  # version -> checksum it ships
    current: bool = False

    @property
    def executable(self) -> Path:
        return Path(self.path) / "bin" / "memory-system"

    @property
    def short_commit(self) -> str:
        return self.commit if self.commit == UNKNOWN else self.commit[:12]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "executable": str(self.executable)}


def releases_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    from_env = os.environ.get(ENV_DIR, "").strip()
    return Path(from_env) if from_env else DEFAULT_DIR


def default_repo() -> Path | None:
    """The git checkout this code runs from, if it runs from one."""
    top = package_dir().parent
    return top if (top / ".git").exists() else None


def _run(args: Sequence[str], *, cwd: Path | None = None, timeout: float = 120) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    try:
        done = subprocess.run(
            list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReleaseError(f"{' '.join(args[:3])} failed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        raise ReleaseError(f"{' '.join(args[:4])[:200]} exited {done.returncode}:\n{tail}")
    return done.stdout


def _git_commit(repo: Path, ref: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def _version_in(source_init: str, where: str) -> str:
    found = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", source_init, re.MULTILINE)
    if not found:
        raise ReleaseError(
            f"{where} has no __version__ in memory_system/__init__.py: not a memory-system tree"
        )
    return found.group(1)


def _read_release(directory: Path, current_name: str | None) -> Release | None:
    try:
        data = json.loads((directory / RELEASE_FILE).read_text())
        return Release(
            **{**data, "path": str(directory), "name": directory.name}, current=directory.name == current_name
        )
    except (OSError, ValueError, TypeError):
        return None


def current_name(directory: Path) -> str | None:
    link = directory / CURRENT
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def list_releases(directory: Path) -> list[Release]:
    if not directory.is_dir():
        return []
    now = current_name(directory)
    found = [_read_release(d, now) for d in sorted(directory.iterdir()) if d.is_dir() and not d.is_symlink()]
    return sorted((r for r in found if r is not None), key=lambda r: r.installed_at)


def find(directory: Path, spec: str) -> Release:
    """A release by its directory name, its version, or a commit prefix (7+ characters)."""
    releases = list_releases(directory)
    if spec == CURRENT:
        matches = [r for r in releases if r.current]
    else:
        matches = [r for r in releases if r.name == spec] or [
            r
            for r in releases
            if r.version == spec.removeprefix("v") or (len(spec) >= 7 and r.commit.startswith(spec))
        ]
    if not matches:
        names = ", ".join(r.name for r in releases) or "none"
        raise ReleaseError(
            f"no release {spec!r} installed in {directory} (installed: {names}); "
            f"install it with 'memory-system release install {spec} --dir {directory}'"
        )
    if len(matches) > 1:
        names = ", ".join(r.name for r in matches)
        raise ReleaseError(f"{spec!r} matches several releases ({names}); name one of them")
    return matches[0]


def use(directory: Path, spec: str) -> Release:
    """Point ``current`` at the release, atomically: a new link renamed over the old one."""
    release = find(directory, spec)
    tmp = directory / f".{CURRENT}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(release.name, tmp)
    os.replace(tmp, directory / CURRENT)
    release.current = True
    return release


@dataclass
class _Source:
    kind: str
    ref: str
    commit: str
    version: str
    modified: bool = False  # a working tree with changes not committed
    tree: Path | None = None  # what pip installs (a directory) ...
    wheel: Path | None = None  # ... or a wheel


def _resolve(spec: str, directory: Path, repo: Path | None, workdir: Path) -> _Source | Release:
    path = Path(spec)
    if spec.endswith(".whl"):
        if not path.is_file():
            raise ReleaseError(f"wheel {spec} does not exist")
        with zipfile.ZipFile(path) as whl:
            init = whl.read("memory_system/__init__.py").decode()
        return _Source("wheel", path.name, UNKNOWN, _version_in(init, spec), wheel=path.absolute())
    if path.is_dir() and (path / "pyproject.toml").exists():
        head = _git_commit(path, "HEAD") or UNKNOWN
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        ref = f"{path.absolute()} (working tree{', modified' if dirty else ''})"
        version = _version_in((path / "memory_system" / "__init__.py").read_text(), spec)
        tree = _copy_tree(path, workdir / "src")
        return _Source("directory", ref, head, version, modified=bool(dirty), tree=tree)
    if VERSION_PATTERN.match(spec):
        try:
            return find(directory, spec)
        except ReleaseError:
            spec = f"v{spec}"  # not installed: its tag
    if repo is None:
        raise ReleaseError(f"{spec!r} is a git ref but this code runs from no git checkout; pass --repo PATH")
    commit = _git_commit(repo, spec)
    if commit is None:
        raise ReleaseError(
            f"{spec!r} is neither an installed release, a .whl file, a source directory, nor a ref of the "
            f"git repository {repo} ('git -C {repo} tag' lists the releases; a shallow clone lacks history)"
        )
    tree = workdir / "src"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise ReleaseError(f"git archive {spec} failed: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout), mode="r:") as tar:
        tar.extractall(tree, filter="data")
    version = _version_in((tree / "memory_system" / "__init__.py").read_text(), spec)
    return _Source("git", spec, commit, version, tree=tree)


def _copy_tree(source: Path, tree: Path) -> Path:
    """The working tree as git sees it (tracked and untracked, not ignored), so pip builds
    in a copy and leaves no build/ or egg-info behind in the checkout."""
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:  # not a git checkout: everything but what pip would leave
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info"))
        return tree
    for name in filter(None, listed.stdout.decode().split("\0")):
        origin = source / name
        if origin.is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, tree / name)
    return tree


def _inspect(venv: Path) -> dict[str, Any]:
    out = _run([str(venv / "bin" / "python"), "-I", "-c", INSPECT], cwd=venv)
    data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return data


def install(
    spec: str,
    *,
    directory: Path,
    extras: Sequence[str] = ("server",),
    repo: Path | None = None,
    progress: Progress = lambda line: None,
) -> Release:
    """Install a release into its own virtualenv; an already installed one is returned as is."""
    directory.mkdir(parents=True, exist_ok=True)
    repo = repo if repo is not None else default_repo()
    with tempfile.TemporaryDirectory(prefix=".install-", dir=directory) as tmp:
        source = _resolve(spec, directory, repo, Path(tmp))
        if isinstance(source, Release):
            progress(f"{source.name} is already installed")
            return source
        short = source.commit[:12] if source.commit != UNKNOWN else "unknown"
        name = f"{source.version}-{short}" + ("-modified" if source.modified else "")
        target = directory / name
        existing = _read_release(target, current_name(directory))
        if existing is not None:
            progress(f"{name} is already installed")
            return existing
        if target.exists():  # a half install (no release.json): start again
            shutil.rmtree(target)
        try:
            return _install_into(target, source, extras, progress)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise


def _install_into(target: Path, source: _Source, extras: Sequence[str], progress: Progress) -> Release:
    progress(f"creating the virtualenv {target}")
    _run([sys.executable, "-m", "venv", str(target)], timeout=300)
    wanted = str(source.wheel or source.tree) + (f"[{','.join(extras)}]" if extras else "")
    progress(f"pip install {wanted}")
    _run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-q", wanted],
        cwd=target,
        timeout=PIP_TIMEOUT_S,
    )
    facts = _inspect(target)
    if facts["version"] != source.version:
        raise ReleaseError(f"installed {facts['version']}, but {source.ref} says {source.version}")
    if source.commit != UNKNOWN:
        build = Path(facts["package_dir"]) / BUILD_FILE_NAME
        build.write_text(json.dumps({"commit": source.commit, "ref": source.ref}) + "\n")
    if not (target / "bin" / "memory-system").exists():
        raise ReleaseError(
            f"{target}/bin/memory-system missing after install: install with the 'server' extra"
        )
    release = Release(
        name=target.name,
        path=str(target),
        version=source.version,
        commit=source.commit if source.commit != UNKNOWN else str(facts.get("commit", UNKNOWN)),
        ref=source.ref,
        source=source.kind,
        python=str(facts["python"]),
        installed_at=utc_now(),
        expected_schema=int(facts["expected_schema"]),
        extras=list(extras),
        migrations={str(k): str(v) for k, v in facts["migrations"].items()},
    )
    record = {k: v for k, v in asdict(release).items() if k not in ("path", "name", "current")}
    (target / RELEASE_FILE).write_text(json.dumps(record, indent=2) + "\n")
    progress(f"installed {release.name}: expects schema {release.expected_schema}")
    return release
