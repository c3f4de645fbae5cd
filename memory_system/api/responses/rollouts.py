"""Success bodies of ``/admin/rollouts`` and of ``GET /admin/alerts/history``, the alert rows
that hold a rollout's step back (kept here, beside the rollouts that read them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time
from memory_system.flags.names import FLAG_NAMES

__all__ = ["AlertEvent", "AlertHistory", "Rollout", "RolloutEvent", "Rollouts"]

if TYPE_CHECKING:
    FlagName = str
else:  # the flags' names, as an enum of the schema
    FlagName = Literal[FLAG_NAMES]


class RolloutEvent(Answer):
    id: int
    rollout_id: int
    event: Literal["started", "advanced", "paused", "resumed", "completed", "aborted"]
    step_index: int
    value: float = Field(description="The step's value, a fraction of sessions in (0, 1].")
    actor: str = Field(description='Who: a person, "rollout" (the driver) or "auto_guard".')
    reason: str
    created_at: Time


class Rollout(Answer):
    id: int
    flag: FlagName
    state: Literal["running", "paused", "completed", "aborted"]
    steps: list[float]
    step_index: int = Field(description="The step in force (or last in force), from 0.")
    value: float = Field(description="steps[step_index]: the database value the rollout holds.")
    next_value: float | None = Field(description="The next step; null at the last or once ended.")
    hold_seconds: float
    step_started_at: Time
    next_step_at: Time | None = Field(
        description="When a running rollout may move up, if no CRITICAL alert fires before; "
        "null when paused, ended or at the last step."
    )
    reason: str = Field(description="Why it was paused or aborted; empty while running.")
    started_by: str
    started_at: Time
    ended_at: Time | None
    updated_at: Time
    effective: float = Field(
        description="The flag as evaluated now: below value when its env or config file holds it lower."
    )
    events: list[RolloutEvent] = Field(description="Every step, oldest first.")


class Rollouts(Answer):
    rollouts: list[Rollout] = Field(description="Each flag's newest rollout, by flag name.")


class AlertEvent(Answer):
    id: int
    rule: str = Field(examples=["injection_latency_p95"])
    severity: Literal["CRITICAL", "WARNING"]
    event: Literal["fired", "resolved"]
    value: float | None
    threshold: float | None
    flags: list[str] = Field(description="The flags the rule is tied to (the guard turns them off).")
    message: str
    instance: str = Field(description="host:pid of the process that evaluated the rule.")
    created_at: Time


class AlertHistory(Answer):
    events: list[AlertEvent] = Field(description="Newest first.")
