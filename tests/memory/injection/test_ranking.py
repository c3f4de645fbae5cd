"""Ranking: each factor moves the score the documented way; config is strict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from memory_system.core.config import ConfigError
from memory_system.memory.injection.ranking import RankingConfig, age_days, recency_factor, score

CFG = RankingConfig()


def s(**kw: object) -> float:
    args = {"relevance": 1.0, "tier": "long_term", "age": 0.0, "importance": 0.5, "config": CFG}
    args.update(kw)
    return score(**args)  # type: ignore[arg-type]


def test_each_factor_orders_scores() -> None:
    assert s(relevance=0.9) > s(relevance=0.5)
    assert s(tier="long_term") > s(tier="working") > s(tier="short_term")
    assert s(age=1) > s(age=60)
    assert s(importance=0.9) > s(importance=0.1)


def test_product_of_documented_factors() -> None:
    expected = 0.8 * 0.75 * (0.3 + 0.7 * 0.5) * (0.5 + 0.5 * 0.2)
    assert s(relevance=0.8, tier="short_term", age=30.0, importance=0.2) == pytest.approx(expected)


def test_recency_halves_the_decaying_part_every_half_life_and_keeps_a_floor() -> None:
    assert recency_factor(0, CFG) == pytest.approx(1.0)
    assert recency_factor(30, CFG) == pytest.approx(0.3 + 0.7 / 2)
    assert recency_factor(10_000, CFG) == pytest.approx(0.3)


def test_importance_zero_halves_rather_than_hides() -> None:
    assert s(importance=0.0) == pytest.approx(s(importance=1.0) / 2)
    assert s(importance=0.0) > 0


def test_tiers_off_weights_every_tier_alike() -> None:
    flat = [
        score(relevance=1, tier=t, age=0, importance=0.5, config=CFG, tiers_enabled=False)
        for t in ("long_term", "short_term", "working")
    ]
    assert len(set(flat)) == 1
    assert set(CFG.flat().tier_weights.values()) == {1.0}


def test_age_from_iso_timestamps() -> None:
    now = datetime(2026, 1, 31, tzinfo=UTC)
    assert age_days("2026-01-01T00:00:00.000Z", now) == pytest.approx(30)
    assert age_days(None, now) == 0
    assert age_days((now + timedelta(days=2)).isoformat(), now) == 0  # clock skew never boosts


def test_config_from_mapping_merges_tier_weights() -> None:
    cfg = RankingConfig.from_mapping({"half_life_days": 7, "tier_weights": {"working": 2}, "cache_ttl_s": 5})
    assert cfg.half_life_days == 7
    assert cfg.tier_weights["working"] == 2.0
    assert cfg.tier_weights["long_term"] == 1.0


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ({"half_life_days": 0}, "half_life_days"),
        ({"half_life_days": "30"}, "half_life_days"),
        ({"recency_floor": 1.5}, "recency_floor"),
        ({"tier_weights": {"archive": 1}}, "tier_weights"),
        ({"tier_weights": {"working": -1}}, "tier_weights.working"),
        ({"tier_weights": [1, 2]}, "tier_weights"),
    ],
)
def test_bad_config_names_the_key(raw: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError, match=f"injection.{names}"):
        RankingConfig.from_mapping(raw)
