"""Success bodies of ``/admin/feature-flags``: each source's value, changes, audit trail, stats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time
from memory_system.flags.names import FLAG_NAMES

__all__ = [
    "ConfigFileState",
    "FlagChange",
    "FlagChanges",
    "FlagEvent",
    "FlagEvents",
    "FlagRollout",
    "FlagSnapshot",
    "FlagSources",
    "FlagState",
    "FlagStats",
]

if TYPE_CHECKING:
    FlagName = str
else:  # the flags' names, as an enum of the schema
    FlagName = Literal[FLAG_NAMES]

_VALUE = "true is 1, false is 0, a rollout fraction between; null: this source sets none."


class FlagSources(Answer):
    env: float | None = Field(description=_VALUE)
    config_file: float | None = Field(description=_VALUE)
    database: float | None = Field(description=_VALUE)


class FlagState(Answer):
    sources: FlagSources
    effective: float = Field(description="The most restrictive of the sources; 1 when none sets one.")
    state: str = Field(description='In words: "on", "off", "10% of sessions".')
    percent: int
    phase: int
    description: str
    off_means: str
    database_actor: str | None
    database_updated_at: Time | None


class ConfigFileState(Answer):
    path: str | None
    exists: bool
    loaded_at: Time | None
    error: str | None = Field(description="Why the file was refused; the previous values stay in force.")


class FlagSnapshot(Answer):
    flags: dict[FlagName, FlagState]
    precedence: str
    config_file: ConfigFileState
    env_error: str | None
    database_error: str | None


class FlagChange(Answer):
    flag: FlagName
    source: str
    actor: str
    old_value: float | None
    new_value: float | None
    effective_old_value: float
    effective_new_value: float


class FlagChanges(Answer):
    changes: list[FlagChange] = Field(description="The flags whose database value changed.")
    flags: dict[FlagName, FlagState]


class FlagEvent(Answer):
    id: int
    flag: FlagName
    old_value: float | None
    new_value: float | None
    source: str
    actor: str
    created_at: Time


class FlagEvents(Answer):
    events: list[FlagEvent] = Field(description="Newest first.")


class FlagRollout(Answer):
    effective: float
    active_sessions: int
    enabled_sessions: int
    percent_enabled: float
    last_changed_at: Time | None
    seconds_since_last_change: float | None


class FlagStats(Answer):
    window_s: float = Field(description="A session seen within this many seconds is active.")
    active_sessions: int
    as_of: Time
    flags: dict[FlagName, FlagRollout]
