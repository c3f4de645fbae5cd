"""Hierarchical tiers: which memories move up, fade, or go, and when (``USE_HIERARCHICAL_TIERS``).

- ``working`` memories belong to a session. Once it has ended (``POST /v1/sessions/{id}/end``,
  or no activity for ``sessionIdleSeconds``), a working memory that was used
  (``access_count + reinforcement_count >= workingPromoteUses``) or is important
  (``>= workingPromoteImportance``) moves to ``short_term``; the rest are deleted once the
  session has been over for ``workingGraceSeconds``.
- ``short_term`` memories move to ``long_term`` when retrieved, injected or restated often
  (``uses >= longTermPromoteUses``) or when important (``>= longTermPromoteImportance``).
  Otherwise, once untouched for ``decayAfterSeconds``, their importance decays by
  ``decayPerDay`` per day; one that falls below ``forgetBelowImportance`` and has been
  untouched for ``forgetAfterSeconds`` is deleted.
- ``long_term`` memories stay. Any memory past its own ``expires_at`` is deleted.

Decay is computed from time, not from the number of passes: each pass applies the decay
for the time since the later of the previous pass and the memory's decay start, so running
``maintain`` more often never forgets faster.

With the flag off, ``maintain`` does nothing at all (no promotion, decay or deletion).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory_system.core import metrics
from memory_system.core.clock import format_utc
from memory_system.core.config import ConfigError
from memory_system.core.logging import log_event
from memory_system.core.settings_loader import camel, read_config_file
from memory_system.flags.keys import flag_key
from memory_system.memory.records.events import MemoryEvents
from memory_system.store import memories as store
from memory_system.store import system_metadata as metadata_store
from memory_system.store.connection import Database
from memory_system.store.scope_versions import bump_scope

__all__ = ["TierMaintenanceReport", "TierPolicy", "load_tier_policy", "maintain"]

CONFIG_KEY = "tiers"
LAST_RUN_KEY = "tiers:last_maintained_at"
LAST_REPORT_KEY = "tiers:last_report"
_log = logging.getLogger(__name__)
_ACTIONS = (
    "promoted_to_short_term",
    "promoted_to_long_term",
    "decayed",
    "expired_working",
    "forgotten",
    "expired",
)


@dataclass(frozen=True)
class TierPolicy:
    """Thresholds of the tier rules; the config file's ``tiers`` object overrides any of them
    (camelCase keys, e.g. ``{"tiers": {"longTermPromoteUses": 5}}``)."""

    session_idle_seconds: float = 24 * 3600
    working_grace_seconds: float = 3600
    working_promote_uses: int = 1
    working_promote_importance: float = 0.7
    long_term_promote_uses: int = 3
    long_term_promote_importance: float = 0.8
    decay_after_seconds: float = 7 * 24 * 3600
    decay_per_day: float = 0.95
    forget_below_importance: float = 0.1
    forget_after_seconds: float = 30 * 24 * 3600
    interval_seconds: float = 3600

    _FRACTIONS = (
        "working_promote_importance",
        "long_term_promote_importance",
        "decay_per_day",
        "forget_below_importance",
    )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TierPolicy:
        """Strict: an unknown key or a value out of range is a ``ConfigError`` naming it."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{CONFIG_KEY} must be a JSON object of thresholds")
        by_key = {camel(f.name): f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in data.items():
            spec = by_key.get(key)
            if spec is None:
                raise ConfigError(
                    f"{CONFIG_KEY}.{key} is not a tier setting; known: {', '.join(sorted(by_key))}"
                )
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw < math.inf:
                raise ConfigError(f"{CONFIG_KEY}.{key} must be a number >= 0, got {raw!r}")
            if spec.name in cls._FRACTIONS and raw > 1:
                raise ConfigError(f"{CONFIG_KEY}.{key} must be between 0 and 1, got {raw!r}")
            if spec.name.endswith("_uses"):
                if int(raw) != raw:
                    raise ConfigError(f"{CONFIG_KEY}.{key} must be a whole number, got {raw!r}")
                raw = int(raw)
            if spec.name == "interval_seconds" and raw < 1:
                raise ConfigError(f"{CONFIG_KEY}.{key} must be at least 1 second, got {raw!r}")
            values[spec.name] = raw
        return cls(**values)

    def to_config(self) -> dict[str, Any]:
        return {camel(k): v for k, v in asdict(self).items()}


def load_tier_policy(config_path: Path | None) -> TierPolicy:
    """The ``tiers`` section of the JSON config file; defaults where the file or key is absent."""
    if config_path is None:
        return TierPolicy()
    return TierPolicy.from_mapping(read_config_file(Path(config_path)).get(CONFIG_KEY, {}))


@dataclass
class TierMaintenanceReport:
    """What one pass did; ``enabled`` false means the flag was off and nothing was touched."""

    enabled: bool
    ran_at: str
    promoted_to_short_term: int = 0
    promoted_to_long_term: int = 0
    decayed: int = 0
    expired_working: int = 0
    forgotten: int = 0
    expired: int = 0
    skipped_flag_off: int = 0
    deleted_ids: list[int] = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("deleted_ids")
        out["deleted"] = len(self.deleted_ids)
        return out


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _flag_key(row: Mapping[str, Any]) -> str:
    """The row's key by the rule every request is evaluated with: its session, else its agent."""
    return flag_key(row.get("session_id"), str(row["agent_id"]))


TiersEnabled = bool | Callable[[str], bool]
# Rows per write transaction: small enough that a concurrent write never waits for a whole pass.
CHUNK = 500


@dataclass
class _Actions:
    to_short: list[int] = field(default_factory=list)
    to_long: list[int] = field(default_factory=list)
    decays: list[tuple[float, int]] = field(default_factory=list)
    to_delete: list[int] = field(default_factory=list)
    namespaces: set[str] = field(default_factory=set)


class _Pass:
    """The decisions of one pass, row by row; ``maintain`` feeds it chunks and applies them."""

    def __init__(
        self,
        policy: TierPolicy,
        allowed: Callable[[str], bool],
        moment: datetime,
        last_run: datetime | None,
        report: TierMaintenanceReport,
    ) -> None:
        self.policy = policy
        self.allowed = allowed
        self.moment = moment
        self.last_run = last_run
        self.report = report
        self.grace_cutoff = format_utc(moment - timedelta(seconds=policy.working_grace_seconds))
        self.promoted_now: set[int] = set()  # a memory moves up at most one tier per pass

    def working(self, rows: list[dict[str, Any]]) -> _Actions:
        act = _Actions()
        policy = self.policy
        for row in rows:
            if not self.allowed(_flag_key(row)):
                self.report.skipped_flag_off += 1
                continue
            uses = row["access_count"] + row["reinforcement_count"]
            if uses >= policy.working_promote_uses or row["importance"] >= policy.working_promote_importance:
                act.to_short.append(row["id"])
                self.promoted_now.add(row["id"])
            elif row["ended_at"] <= self.grace_cutoff:
                act.to_delete.append(row["id"])
                self.report.expired_working += 1
            else:
                continue
            act.namespaces.add(row["namespace"])
        return act

    def short_term(self, rows: list[dict[str, Any]]) -> _Actions:
        act = _Actions()
        policy = self.policy
        for row in rows:
            if row["id"] in self.promoted_now:
                continue
            if not self.allowed(_flag_key(row)):
                self.report.skipped_flag_off += 1
                continue
            uses = row["access_count"] + row["reinforcement_count"]
            if (
                uses >= policy.long_term_promote_uses
                or row["importance"] >= policy.long_term_promote_importance
            ):
                act.to_long.append(row["id"])
                act.namespaces.add(row["namespace"])
                continue
            activity = _parse(row["last_activity"])
            start = activity + timedelta(seconds=policy.decay_after_seconds)
            if self.last_run is not None and self.last_run > start:
                start = self.last_run
            if self.moment <= start:
                continue
            days = (self.moment - start).total_seconds() / 86400
            importance = max(0.0, row["importance"] * policy.decay_per_day**days)
            untouched = (self.moment - activity).total_seconds()
            if importance < policy.forget_below_importance and untouched >= policy.forget_after_seconds:
                act.to_delete.append(row["id"])
                self.report.forgotten += 1
            elif importance != row["importance"]:
                act.decays.append((importance, row["id"]))
                self.report.decayed += 1
            else:
                continue
            act.namespaces.add(row["namespace"])
        return act

    def expired(self, rows: list[dict[str, Any]]) -> _Actions:
        act = _Actions()
        for row in rows:
            if not self.allowed(_flag_key(row)):
                self.report.skipped_flag_off += 1
                continue
            act.to_delete.append(row["id"])
            act.namespaces.add(row["namespace"])
            self.report.expired += 1
        return act


def _in_chunks(
    db: Database,
    select: Callable[[Any, int], list[dict[str, Any]]],
    decide: Callable[[list[dict[str, Any]]], _Actions],
    report: TierMaintenanceReport,
    events: MemoryEvents | None,
) -> None:
    """Select, decide and apply ``CHUNK`` rows at a time (by id), each chunk one transaction."""
    after = 0
    while True:
        with db.write() as conn:
            rows = select(conn, after)
            act = decide(rows)
            store.set_tier(conn, act.to_short, "short_term")
            store.set_tier(conn, act.to_long, "long_term")
            store.set_importance(conn, act.decays)
            store.delete(conn, act.to_delete)
            for namespace in sorted(act.namespaces):
                bump_scope(conn, namespace)
        report.promoted_to_short_term += len(act.to_short)
        report.promoted_to_long_term += len(act.to_long)
        report.deleted_ids.extend(act.to_delete)
        if events is not None:
            events.deleted(act.to_delete)
        if len(rows) < CHUNK:
            return
        after = rows[-1]["id"]


def maintain(
    db: Database,
    policy: TierPolicy,
    tiers_enabled: TiersEnabled,
    *,
    events: MemoryEvents | None = None,
    now: datetime | None = None,
) -> TierMaintenanceReport:
    """One pass of the tier rules. ``tiers_enabled`` is the flag: a boolean, or a function of
    the flag key (session id, else ``agent:<id>``) for a percentage rollout, so that a memory
    outside the rollout is never promoted, decayed or deleted."""
    moment = now or datetime.now(UTC)
    ran_at = format_utc(moment)
    if tiers_enabled is False:
        report = TierMaintenanceReport(
            enabled=False,
            ran_at=ran_at,
            message="USE_HIERARCHICAL_TIERS is off: nothing was promoted, decayed or deleted",
        )
        log_event(_log, "tiers_maintenance_skipped", reason="flag_off")
        return report
    allowed: Callable[[str], bool] = (lambda _key: True) if tiers_enabled is True else tiers_enabled
    report = TierMaintenanceReport(enabled=True, ran_at=ran_at)
    last_raw = metadata_store.get(db.reader(), LAST_RUN_KEY)
    decisions = _Pass(policy, allowed, moment, _parse(json.loads(last_raw)) if last_raw else None, report)
    idle_before = format_utc(moment - timedelta(seconds=policy.session_idle_seconds))
    untouched_before = format_utc(moment - timedelta(seconds=policy.decay_after_seconds))

    _in_chunks(
        db,
        lambda conn, after: store.working_of_ended_sessions(
            conn, now=ran_at, idle_before=idle_before, after_id=after, limit=CHUNK
        ),
        decisions.working,
        report,
        events,
    )
    _in_chunks(
        db,
        lambda conn, after: store.short_term_candidates(
            conn,
            promote_uses=policy.long_term_promote_uses,
            promote_importance=policy.long_term_promote_importance,
            untouched_before=untouched_before,
            after_id=after,
            limit=CHUNK,
        ),
        decisions.short_term,
        report,
        events,
    )
    _in_chunks(
        db,
        lambda conn, after: store.expired_rows(conn, ran_at, after_id=after, limit=CHUNK),
        decisions.expired,
        report,
        events,
    )

    with db.write() as conn:
        metadata_store.put(conn, LAST_RUN_KEY, json.dumps(ran_at))
        metadata_store.put(conn, LAST_REPORT_KEY, json.dumps(report.to_dict()))
    for action in _ACTIONS:
        metrics.TIER_TRANSITIONS.labels(action=action).inc(getattr(report, action))
    metrics.TIER_MAINTENANCE_LAST_RUN.set_to_current_time()
    log_event(_log, "tiers_maintained", **{k: v for k, v in report.to_dict().items() if k != "message"})
    return report
