"""Percentage rollout, for any session id and any fractions: monotone, sticky, proportional.

Monotone: a session on at p stays on at every p' >= p (raising 1% -> 10% keeps the first 1%
in; lowering drops only sessions above the new line). Sticky: the same answer on every
call, in this process and in another that reads the same database. Proportional: the share
of sessions on is the rollout percentage, within sampling error. Checked on the bucketing
function itself (many examples) and through ``FlagService`` on a real database file, where
the fraction is written the way the admin API and CLI write it.
"""

from __future__ import annotations

import math
import random
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory_system.flags.bucketing import bucket, in_rollout
from memory_system.flags.names import FLAG_NAMES
from memory_system.flags.service import FlagService
from memory_system.flags.values import percent
from memory_system.ops import schema
from memory_system.store.connection import Database
from tests.properties.strategies import fuzz, texts

fractions = st.one_of(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    st.sampled_from([0.0, 0.004, 0.005, 0.01, 0.015, 0.099, 0.1, 0.5, 0.994, 0.995, 0.999, 1.0]),
)
flags = st.sampled_from(FLAG_NAMES)
session_ids = st.one_of(st.uuids().map(str), texts(0, 60), st.integers(0, 10**6).map(lambda i: f"agent:a{i}"))


@fuzz(1000)
@given(flag=flags, key=session_ids, p=fractions, q=fractions)
def test_a_session_on_at_p_is_on_at_every_higher_p(flag: str, key: str, p: float, q: float) -> None:
    low, high = min(p, q), max(p, q)
    if in_rollout(low, flag, key):
        assert in_rollout(high, flag, key), (flag, key, low, high, bucket(flag, key))
    assert in_rollout(1.0, flag, key) and not in_rollout(0.0, flag, key)
    assert in_rollout(low, flag, key) == (bucket(flag, key) <= percent(low)) or low >= 1.0


@fuzz(200)
@given(flag=flags, p=st.floats(min_value=0.0, max_value=1.0, allow_nan=False), seed=st.integers(0, 2**32))
def test_the_share_of_sessions_on_is_the_rollout_percentage(flag: str, p: float, seed: int) -> None:
    rng = random.Random(seed)
    n = 2000
    on = sum(in_rollout(p, flag, str(uuid.UUID(int=rng.getrandbits(128)))) for _ in range(n))
    expected = 1.0 if p >= 1.0 else percent(p) / 100
    # Binomial spread: 5 standard deviations (at most 0.056 for n=2000), so no seed fails by chance.
    assert abs(on / n - expected) <= 5 * math.sqrt(expected * (1 - expected) / n) + 1 / n, (p, on)


@fuzz(25)
@given(
    flag=flags,
    keys=st.lists(session_ids, min_size=1, max_size=40, unique=True),
    steps=st.lists(fractions, min_size=1, max_size=4),
)
def test_flag_service_answers_are_sticky_and_monotone_as_the_fraction_changes(
    tmp_path_factory: pytest.TempPathFactory, flag: str, keys: list[str], steps: list[float]
) -> None:
    path = tmp_path_factory.mktemp("flags") / "memory.db"
    schema.migrate(path)
    db, other_db = Database(path), Database(path, read_only=True)
    try:
        service = FlagService(db, {}, None, cache_s=0.0)
        # Another process on the same file (a second worker, the OpenFeature provider).
        other = FlagService(other_db, {}, None, cache_s=0.0)
        before: dict[str, bool] | None = None
        previous = None
        for value in steps:
            service.set(flag, value, actor="fuzz", source="test")
            answers = {key: service.enabled(flag, key) for key in keys}
            assert answers == {key: service.enabled(flag, key) for key in keys}  # every call alike
            assert answers == {key: other.enabled(flag, key) for key in keys}  # every process alike
            assert answers == {key: in_rollout(value, flag, key) for key in keys}
            if before is not None and previous is not None:
                kept = value >= previous
                for key in keys:
                    if kept and before[key]:
                        assert answers[key], f"{key!r} dropped out when {flag} rose {previous} -> {value}"
                    if not kept and answers[key]:
                        assert before[key], f"{key!r} came in when {flag} fell {previous} -> {value}"
            before, previous = answers, value
    finally:
        other_db.close()
        db.close()
