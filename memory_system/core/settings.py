"""Settings of one running service, gathered once at start from options, env and config file.

Feature-flag values are not here: they are evaluated per request by ``flags/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG_PATH = Path("/etc/memory-system/config.json")


@dataclass(frozen=True)
class NotificationSettings:
    """The ``notifications`` section: where the runbook's notices go (ops/notify/).

    A channel is configured when its address is: the webhook by ``webhook_url``, email by
    ``smtp_host`` (with ``smtp_from`` and recipients). The SMTP password is read from
    ``MEMORY_SYSTEM_SMTP_PASSWORD`` only, never from the config file.
    """

    webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str | None = None
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    oncall_recipients: tuple[str, ...] = ()
    leadership_recipients: tuple[str, ...] = ()
    timeout_s: float = 3.0
    max_attempts: int = 6

    @property
    def email_configured(self) -> bool:
        return self.smtp_host is not None


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
    # In-memory index budget (issue 14): namespaces beyond it are evicted least recently used and
    # answered by FTS5 + sqlite-vec. None: unbounded (every used namespace stays loaded).
    index_memory_mb: float | None = None
    # The periodic quick_check of the database (ops/integrity_watch.py); O(size), so not often.
    integrity_check_interval_s: float = 3600.0
    # What the memory alerts measure RSS against; None: the cgroup's limit, else the machine's RAM.
    memory_limit_mb: float | None = None
    # How often the rollout driver (flags/rollout.py) looks at running rollouts' holds.
    rollout_check_interval_s: float = 5.0
    # Where ``rollback c`` copies its backup too (a folder, or host:path for rsync/scp), so the
    # way back survives the loss of this machine's disk; ``--second-copy`` overrides it.
    backup_second_copy: str | None = None
    # Slack-compatible webhook and email for the runbook's notices (issue 12); docs/operations.md.
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    extra: dict[str, object] = field(default_factory=dict)
