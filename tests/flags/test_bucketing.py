"""Sticky rollout, bucket for bucket as Unleash: shared vectors, known hashes, 10,000 sessions."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from memory_system.flags.bucketing import bucket, in_rollout
from memory_system.flags.names import FLAG_NAMES

UNLEASH = Path(__file__).resolve().parents[3] / "shared" / "data" / "unleash"


def _murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, written from the reference algorithm to check mmh3 independently."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF
    h = seed

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    full = len(data) // 4 * 4
    for i in range(0, full, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = rotl((k * c1) & mask, 15) * c2 & mask
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & mask
    tail = data[full:]
    if tail:
        k = int.from_bytes(tail, "little")
        h ^= rotl((k * c1) & mask, 15) * c2 & mask
    h ^= len(data)
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & mask
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def test_reference_murmur3_matches_published_values() -> None:
    assert _murmur3_32(b"") == 0
    assert _murmur3_32(b"hello") == 0x248BFA47
    assert _murmur3_32(b"The quick brown fox jumps over the lazy dog") == 0x2E4FF723


def test_buckets_agree_with_unleash_clients_and_an_independent_murmur3() -> None:
    # normalizedValue('123', 'gr1') == 73 and ('999', 'groupX') == 25 in Unleash's node/java/go tests.
    assert bucket("gr1", "123") == 73
    assert bucket("groupX", "999") == 25
    rng = random.Random(7)
    for _ in range(500):
        key = str(uuid.UUID(int=rng.getrandbits(128)))
        flag = rng.choice(FLAG_NAMES)
        assert bucket(flag, key) == _murmur3_32(f"{flag}:{key}".encode()) % 100 + 1


def _stickiness_key(strategy: dict[str, Any], context: dict[str, Any]) -> str | None:
    params = strategy["parameters"]
    if strategy["name"] == "gradualRolloutSessionId":
        return context.get("sessionId")
    stickiness = params.get("stickiness", "default")
    if stickiness == "default":
        key = context.get("userId") or context.get("sessionId")
        # Unleash falls back to a random key; only 0% and 100% are deterministic then.
        return key or (str(uuid.uuid4()) if params["rollout"] in ("0", "100") else "")
    if stickiness in ("userId", "sessionId"):
        return context.get(stickiness)
    value = context.get("properties", {}).get(stickiness)
    return None if value is None else str(value)


def _unleash_enabled(feature: dict[str, Any], context: dict[str, Any]) -> bool:
    for strategy in feature["strategies"]:
        if strategy["name"] == "default":
            return True
        params = strategy["parameters"]
        percentage = int(params.get("percentage", params.get("rollout")))
        key = _stickiness_key(strategy, context)
        assert key != "", "an undeterministic case in the vectors; the test cannot judge it"
        if key is not None and in_rollout(percentage / 100, params["groupId"], key):
            return True
    return False


@pytest.mark.skipif(not UNLEASH.is_dir(), reason=f"Unleash test vectors not present at {UNLEASH}")
def test_unleash_client_specification_vectors() -> None:
    checked = 0
    for path in sorted(UNLEASH.glob("*.json")):
        spec = json.loads(path.read_text())
        features = {f["name"]: f for f in spec["state"]["features"]}
        for case in spec["tests"]:
            got = _unleash_enabled(features[case["toggleName"]], case["context"])
            assert got == case["expectedResult"], f"{path.name}: {case['description']}"
            checked += 1
    assert checked >= 20


SESSIONS = [str(uuid.UUID(int=random.Random(42).getrandbits(128) + i)) for i in range(10_000)]


@pytest.mark.parametrize("flag", FLAG_NAMES)
def test_raising_the_rollout_never_drops_a_session_and_hits_the_target(flag: str) -> None:
    previous: set[str] = set()
    for fraction in (0.0, 0.01, 0.1, 0.5, 1.0):
        enabled = {s for s in SESSIONS if in_rollout(fraction, flag, s)}
        assert previous <= enabled, f"raising to {fraction} dropped {len(previous - enabled)} sessions"
        assert abs(len(enabled) / len(SESSIONS) - fraction) <= 0.01, (fraction, len(enabled))
        previous = enabled
    assert len(previous) == len(SESSIONS)


def test_evaluation_is_sticky_and_independent_per_flag() -> None:
    first = [in_rollout(0.5, "USE_ENHANCED_INJECTION", s) for s in SESSIONS]
    assert first == [in_rollout(0.5, "USE_ENHANCED_INJECTION", s) for s in SESSIONS]
    other = [in_rollout(0.5, "USE_CROSS_AGENT_SHARING", s) for s in SESSIONS]
    both = sum(a and b for a, b in zip(first, other, strict=True)) / len(SESSIONS)
    assert 0.2 < both < 0.3  # about 0.5 * 0.5: the flags' rollouts do not pick the same sessions


def test_zero_is_off_for_everyone_and_one_is_on_for_everyone() -> None:
    assert not any(in_rollout(0.0, "USE_HIERARCHICAL_TIERS", s) for s in SESSIONS[:1000])
    assert all(in_rollout(1.0, "USE_HIERARCHICAL_TIERS", s) for s in SESSIONS[:1000])
    assert not in_rollout(0.004, "USE_HIERARCHICAL_TIERS", "any")  # under half a percent rounds to 0%
