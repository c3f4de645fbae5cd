"""Where things live by default, and strict parsing of settings from the environment.

Precedence for the database path: ``--db`` option, then ``MEMORY_SYSTEM_DB``, then
``$XDG_DATA_HOME/memory-system/memory.db`` (``~/.local/share/...``). The systemd unit
sets ``MEMORY_SYSTEM_DB=/var/lib/memory-system/memory.db``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DB = "MEMORY_SYSTEM_DB"


class ConfigError(ValueError):
    """A setting has a value we refuse to guess about; the message names it."""


def default_db_path() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "memory-system" / "memory.db"


def resolve_db_path(option: str | Path | None) -> Path:
    """The database file, symlinks resolved: the lock, the restore swap and every check must
    act on the live file, not on a link to it (a restore through a link used to miss the
    running service's lock and replace the link)."""
    if option:
        chosen = Path(option)
    else:
        from_env = os.environ.get(ENV_DB)
        chosen = Path(from_env) if from_env else default_db_path()
    return chosen.expanduser().resolve()


def parse_bool(name: str, raw: str) -> bool:
    """``true/1/yes/on`` and ``false/0/no/off`` only; anything else names the variable."""
    value = raw.strip().lower()
    if value in {"true", "1", "yes", "on"}:
        return True
    if value in {"false", "0", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")
