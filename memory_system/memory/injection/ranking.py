"""How injection orders candidate memories: relevance x tier x recency x importance.

    score = relevance * tier_weight[tier] * recency * importance_factor

- ``relevance`` in [0, 1]: the retrieval score of the hit divided by the best hit's score
  of the same query (relative-score fusion in enhanced mode, BM25 in degraded mode), so that it
  means "as relevant as the best match" whatever the scorer's scale.
- ``tier_weight``: long-term knowledge is trusted most, the current session's working
  memories next, short-term ones least. All 1.0 when ``USE_HIERARCHICAL_TIERS`` is off
  (memories are one flat tier then).
- ``recency = floor + (1 - floor) * 0.5 ** (age_days / half_life_days)``, where the age is
  measured from the memory's last use (the newest of updated and last-accessed times), so a
  memory half a half-life old counts ~0.85, and an old but relevant fact never drops
  below ``floor``.
- ``importance_factor = importance_floor + (1 - importance_floor) * importance``: importance
  0 halves a memory's score (with the default floor 0.5) rather than hiding it.

Every constant comes from the ``injection`` key of the config file
(docs/retrieval.md, "Injection"); unknown keys are refused with the key's name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from memory_system.core.config import ConfigError

__all__ = ["TIERS", "RankingConfig", "age_days", "recency_factor", "score"]

TIERS = ("long_term", "short_term", "working")
_FLAT = {tier: 1.0 for tier in TIERS}


@dataclass(frozen=True)
class RankingConfig:
    tier_weights: Mapping[str, float] = field(
        default_factory=lambda: {"long_term": 1.0, "working": 0.9, "short_term": 0.75}
    )
    half_life_days: float = 30.0
    recency_floor: float = 0.3
    importance_floor: float = 0.5

    def __post_init__(self) -> None:
        unknown = set(self.tier_weights) - set(TIERS)
        if unknown:
            raise ConfigError(f"injection.tier_weights: unknown tier(s) {sorted(unknown)}; use {list(TIERS)}")
        for tier, weight in self.tier_weights.items():
            if not 0 < float(weight) <= 10:
                raise ConfigError(f"injection.tier_weights.{tier}={weight!r}: use a number in (0, 10]")
        if not self.half_life_days > 0:
            raise ConfigError(f"injection.half_life_days={self.half_life_days!r}: use a number > 0")
        for name in ("recency_floor", "importance_floor"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"injection.{name}={value!r}: use a number in [0, 1]")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> RankingConfig:
        """From the config file's ``injection`` object; only ranking keys are read here."""
        if not raw:
            return cls()
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key in known & set(raw):
            value = raw[key]
            if key == "tier_weights":
                if not isinstance(value, Mapping):
                    raise ConfigError('injection.tier_weights: use an object like {"long_term": 1.0}')
                value = {
                    **cls().tier_weights,
                    **{str(k): _number(f"tier_weights.{k}", v) for k, v in value.items()},
                }
            else:
                value = _number(key, value)
            values[key] = value
        return cls(**values)

    def flat(self) -> RankingConfig:
        """The same config with every tier weighted alike (tiers flag off)."""
        return replace(self, tier_weights=dict(_FLAT))

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier_weights": dict(self.tier_weights),
            "half_life_days": self.half_life_days,
            "recency_floor": self.recency_floor,
            "importance_floor": self.importance_floor,
        }


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"injection.{key}={value!r}: use a number")
    return float(value)


def age_days(last_used: str | None, now: datetime) -> float:
    if not last_used:
        return 0.0
    try:
        then = datetime.fromisoformat(last_used)  # 3.11+ reads the "Z"
    except ValueError:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds() / 86400.0)


def recency_factor(age: float, config: RankingConfig) -> float:
    decay = math.pow(0.5, age / config.half_life_days)
    return config.recency_floor + (1.0 - config.recency_floor) * decay


def score(
    *,
    relevance: float,
    tier: str,
    age: float,
    importance: float,
    config: RankingConfig,
    tiers_enabled: bool = True,
) -> float:
    weight = config.tier_weights.get(tier, 1.0) if tiers_enabled else 1.0
    importance = min(1.0, max(0.0, importance))
    importance_factor = config.importance_floor + (1.0 - config.importance_floor) * importance
    return max(0.0, relevance) * weight * recency_factor(age, config) * importance_factor
