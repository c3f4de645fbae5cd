"""Who may write a typed store: the ``typedStores`` section of the config file.

Preferences and code patterns belong to a namespace, not to an agent: every agent of the
namespace reads them, and preferences open every injected prompt. So a write is an
injection channel, and each store has a write policy::

    {"typedStores": {"preferences": {"writers": "creator"},
                     "codePatterns": {"writers": ["planner", "reviewer"]}}}

- ``"any"`` (the default, the behaviour before policies existed): every agent of the
  namespace may create, change and delete every key.
- ``"creator"``: any agent may create a key; only the agent that created it may change or
  delete it. A key written before creators were recorded (migration 005) has no known
  creator, so under this policy no agent may change it until the operator allows it.
- a list of agent ids: only those agents may write the store at all.

The policy is read at start (a change needs a restart); a bad section stops the start with
a ``ConfigError`` naming the key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memory_system.core.config import ConfigError
from memory_system.core.logging import log_event
from memory_system.core.settings_loader import read_config_file
from memory_system.core.validation import InvalidValue, check_agent_id
from memory_system.memory.records.models import MemoryForbidden

__all__ = [
    "CONFIG_KEY",
    "TypedStorePolicy",
    "WritePolicy",
    "WriteRefused",
    "load_typed_store_policy",
]

CONFIG_KEY = "typedStores"
_STORES = {"preferences": "preferences", "codePatterns": "code_patterns"}
_MODES = ("any", "creator")
_log = logging.getLogger(__name__)


class WriteRefused(MemoryForbidden):
    """The store's write policy does not let this agent make this change; nothing was changed
    (the attempt is in the audit trail)."""

    def __init__(self, message: str, *, store: str, policy: str, created_by: str | None) -> None:
        super().__init__(message)
        self.store = store
        self.policy = policy
        self.created_by = created_by


@dataclass(frozen=True)
class WritePolicy:
    """``mode`` is ``any``, ``creator`` or ``listed`` (then ``agents`` are the writers);
    ``setting`` names where it came from, for refusals (``typedStores.preferences.writers``)."""

    mode: str = "any"
    agents: frozenset[str] = frozenset()
    setting: str = ""

    def refusal(self, agent_id: str, subject: str, *, exists: bool, created_by: str | None) -> str | None:
        """Why ``agent_id`` may not write ``subject`` (a key that ``exists`` or not); None: it may."""
        if self.mode == "listed" and agent_id not in self.agents:
            return (
                f"only the agents listed in {self.setting} may write here; agent {agent_id!r} is not one "
                f"of them, so {subject} was not changed"
            )
        if self.mode != "creator" or not exists or (created_by is not None and created_by == agent_id):
            return None
        if created_by is None:
            return (
                f"{subject} was written before creators were recorded (migration 005), so its creator is "
                f'unknown; {self.setting} is "creator", so no agent may change or delete it until an '
                'operator sets that to "any" or to a list of agents'
            )
        return (
            f'{subject} was created by agent {created_by!r}; {self.setting} is "creator", so only that '
            f"agent may change or delete it, not {agent_id!r}"
        )

    def check(
        self, store: str, namespace: str, agent_id: str, subject: str, *, exists: bool, created_by: str | None
    ) -> WriteRefused | None:
        """The refusal of this write, logged, for the caller to record and then raise; None: allowed."""
        reason = self.refusal(agent_id, subject, exists=exists, created_by=created_by)
        if reason is None:
            return None
        log_event(
            _log,
            "typed_store_write_refused",
            logging.WARNING,
            store=store,
            namespace=namespace,
            agent_id=agent_id,
            policy=self.mode,
            created_by=created_by,
        )
        return WriteRefused(reason, store=store, policy=self.mode, created_by=created_by)

    def to_config(self) -> object:
        return sorted(self.agents) if self.mode == "listed" else self.mode


@dataclass(frozen=True)
class TypedStorePolicy:
    """The write policy of each typed store."""

    preferences: WritePolicy = field(default_factory=lambda: WritePolicy(setting=_setting("preferences")))
    code_patterns: WritePolicy = field(default_factory=lambda: WritePolicy(setting=_setting("codePatterns")))

    @classmethod
    def from_mapping(cls, data: object) -> TypedStorePolicy:
        """Strict: an unknown key, a wrong type, an empty list or a bad agent id is a
        ``ConfigError`` naming the key."""
        if not isinstance(data, Mapping):
            raise ConfigError(
                f'{CONFIG_KEY} must be a JSON object, e.g. {{"preferences": {{"writers": "creator"}}}}'
            )
        policies: dict[str, WritePolicy] = {}
        for key, section in data.items():
            name = _STORES.get(key)
            if name is None:
                raise ConfigError(
                    f"{CONFIG_KEY}.{key} is not a typed store; known: {', '.join(sorted(_STORES))}"
                )
            policies[name] = _parse_store(key, section)
        return cls(**policies)

    def to_config(self) -> dict[str, Any]:
        return {key: {"writers": getattr(self, name).to_config()} for key, name in sorted(_STORES.items())}


def _setting(store_key: str) -> str:
    return f"{CONFIG_KEY}.{store_key}.writers"


def _parse_store(store_key: str, section: object) -> WritePolicy:
    where = f"{CONFIG_KEY}.{store_key}"
    if not isinstance(section, Mapping):
        raise ConfigError(f'{where} must be a JSON object, e.g. {{"writers": "creator"}}')
    unknown = sorted(set(section) - {"writers"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]} is not a typed-store setting; known: writers")
    setting = _setting(store_key)
    writers = section.get("writers", "any")
    if isinstance(writers, str):
        if writers not in _MODES:
            raise ConfigError(f'{setting} must be "any", "creator" or a list of agent ids, got {writers!r}')
        return WritePolicy(writers, setting=setting)
    if not isinstance(writers, list):
        raise ConfigError(f'{setting} must be "any", "creator" or a list of agent ids, got {writers!r}')
    if not writers:
        raise ConfigError(
            f'{setting} is an empty list, which would let no agent write; list agent ids, or use "any"'
        )
    for i, agent in enumerate(writers):
        if agent in _MODES:
            raise ConfigError(
                f'{setting}[{i}] is {agent!r}, a policy name, not an agent id: use "{agent}" alone, '
                "or list agent ids"
            )
        try:
            check_agent_id(agent, f"{setting}[{i}]")
        except InvalidValue as exc:
            raise ConfigError(f"{exc} (an agent id as tokens issue it), got {agent!r}") from None
    return WritePolicy("listed", frozenset(writers), setting)


def load_typed_store_policy(config_path: Path | None) -> TypedStorePolicy:
    """The ``typedStores`` section of the JSON config file; ``any`` where the file or key is absent."""
    if config_path is None:
        return TypedStorePolicy()
    path = Path(config_path)
    section = read_config_file(path).get(CONFIG_KEY, {})
    try:
        return TypedStorePolicy.from_mapping(section)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
