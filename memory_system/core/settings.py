"""Settings of one running service, gathered once at start from options, env and config file.

Feature-flag values are not here: they are evaluated per request by ``flags/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG_PATH = Path("/etc/memory-system/config.json")


@dataclass
class Settings:
    db_path: Path
    host: str = "127.0.0.1"
    port: int = 8080
    config_path: Path = DEFAULT_CONFIG_PATH
    log_file: Path | None = None
    dev: bool = False
    admin_token: str | None = None
    max_body_bytes: int = 2 * 1024 * 1024
    drain_timeout_s: float = 10.0
    # After SIGTERM, keep serving (readiness failing) this long so load balancers stop sending.
    shutdown_delay_s: float = 0.0
    # Retrieval and injection (issue 4); every field documented in docs/retrieval.md.
    rag_timeout_ms: float = 50.0
    embedder: str = "minilm"  # "minilm", "none", or a test embedder "slow:<ms>" / "failing"
    # The periodic quick_check of the database (ops/integrity_watch.py); O(size), so not often.
    integrity_check_interval_s: float = 3600.0
    # What the memory alerts measure RSS against; None: the cgroup's limit, else the machine's RAM.
    memory_limit_mb: float | None = None
    # Where ``rollback c`` copies its backup too (a folder, or host:path for rsync/scp), so the
    # way back survives the loss of this machine's disk; ``--second-copy`` overrides it.
    backup_second_copy: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
