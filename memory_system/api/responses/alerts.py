"""Success body of ``GET /admin/alerts``: every rule of the runbook's matrix and its state."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memory_system.api.responses import Answer, Time

__all__ = ["AlertReport", "AlertRuleState"]


class AlertRuleState(Answer):
    rule: str = Field(examples=["injection_latency_p95"])
    severity: Literal["CRITICAL", "WARNING"]
    state: Literal["ok", "firing", "no_data"] = Field(
        description="no_data: too little to judge yet (no injections, too few cache lookups, "
        "less history than the window); such a rule never fires"
    )
    value: float | None = Field(description="the measured value, in unit; null with no_data")
    threshold: float
    unit: Literal["ms", "per_min", "fraction", "ok"]
    summary: str
    flags: list[str] = Field(description="the flags the guard turns off when this rule fires")
    firing_since: Time | None
    last_change: Time | None


class AlertReport(Answer):
    enabled: bool = Field(description='false: the "alerts" section switched evaluation off')
    evaluated_at: Time | None = Field(description="the last evaluation; null before the first")
    evaluate_every_seconds: float
    firing: list[str]
    rules: list[AlertRuleState]
