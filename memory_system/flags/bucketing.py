"""Sticky percentage rollout, bucket for bucket the same as Unleash's.

A key (a session id, or ``agent:<id>`` for calls without a session) lands in one of 100
buckets by murmur3 of ``"<flag>:<key>"``; it is in the rollout when its bucket is at most
the rollout percentage. The bucket never changes, so raising 1% -> 10% keeps the first 1%
in, and lowering drops only those above the new line.
"""

from __future__ import annotations

import mmh3

from memory_system.flags.values import percent

__all__ = ["bucket", "in_rollout"]


def bucket(group: str, key: str) -> int:
    """1..100, as Unleash's ``normalizedValue(key, groupId)``."""
    return int(mmh3.hash(f"{group}:{key}", seed=0, signed=False)) % 100 + 1


def in_rollout(fraction: float, group: str, key: str) -> bool:
    """On for every key at 1.0, for none at 0.0, else for the keys whose bucket falls under it."""
    if fraction >= 1.0:
        return True
    rollout = percent(fraction)
    return rollout > 0 and bucket(group, key) <= rollout
