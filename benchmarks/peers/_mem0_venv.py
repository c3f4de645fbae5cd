"""The peer's own virtual environment: Mem0's open-source library, pinned, beside (never inside) ours.

Mem0 pulls openai, posthog, sqlalchemy and qdrant-client, whose versions are none of this
project's business, so it gets a venv of its own under the gitignored ``.cache/peers/mem0/``.
torch is installed first and alone, pinned to the project's 2.13.0: asked for later, as a
dependency of sentence-transformers, pip would resolve an unpinned torch to a multi-GB CUDA
build. sentence-transformers, transformers and tokenizers are the project's own versions, so
both sides run the same MiniLM code on the same bundled weights. A stamp file holds the
requirement list; a venv whose stamp differs is rebuilt.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_DIR = REPO / ".cache" / "peers" / "mem0" / "venv"
TORCH = "torch==2.13.0"
REQUIREMENTS = (
    "mem0ai==2.2.1",
    "qdrant-client==1.20.0",  # embedded local Qdrant: mem0's default store, no server
    "sentence-transformers==6.2.0",
    "transformers==5.24.0",
    "tokenizers==0.23.3",
    "numpy==2.4.6",
)
STAMP = VENV_DIR / "requirements.json"


def python_of(venv_dir: Path = VENV_DIR) -> Path:
    return venv_dir / "bin" / "python"


def _pip(python: Path, *args: str) -> None:
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args]
    print("  $ " + " ".join(command[2:]), flush=True)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise SystemExit(
            f"building the Mem0 venv failed at 'pip install {' '.join(args)}' (exit {result.returncode}); "
            f"fix the cause above and rerun, or delete {VENV_DIR} to start over"
        )


def ensure_venv(venv_dir: Path = VENV_DIR) -> Path:
    """The peer venv's python, built (minutes, once) when missing or its pins changed."""
    wanted = {"python": sys.version.split()[0], "torch": TORCH, "requirements": list(REQUIREMENTS)}
    stamp = venv_dir / STAMP.name
    python = python_of(venv_dir)
    if python.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return python
    print(f"building the Mem0 venv in {venv_dir} (torch, then {', '.join(REQUIREMENTS)})", flush=True)
    venv.EnvBuilder(clear=True, with_pip=True).create(venv_dir)
    _pip(python, TORCH)
    _pip(python, *REQUIREMENTS)
    stamp.write_text(json.dumps(wanted, indent=1))
    return python


def installed_versions(python: Path) -> dict[str, str]:
    """What the venv really holds (pip freeze), for the report."""
    out = subprocess.run(
        [str(python), "-m", "pip", "freeze", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pairs = (line.split("==", 1) for line in out.splitlines() if "==" in line)
    return {name.lower(): version for name, version in pairs}


if __name__ == "__main__":
    print(ensure_venv())
