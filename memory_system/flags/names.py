"""The three feature flags, each one phase of the product an operator can switch off.

Names are the ones the runbook, environment variables and the config file use, so an
operator can copy a name from any of them into any other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FLAGS",
    "FLAG_NAMES",
    "USE_CROSS_AGENT_SHARING",
    "USE_ENHANCED_INJECTION",
    "USE_HIERARCHICAL_TIERS",
    "Flag",
]

USE_HIERARCHICAL_TIERS = "USE_HIERARCHICAL_TIERS"
USE_CROSS_AGENT_SHARING = "USE_CROSS_AGENT_SHARING"
USE_ENHANCED_INJECTION = "USE_ENHANCED_INJECTION"


@dataclass(frozen=True)
class Flag:
    name: str
    phase: int
    description: str
    off_means: str


FLAGS: dict[str, Flag] = {
    f.name: f
    for f in (
        Flag(
            USE_HIERARCHICAL_TIERS,
            2,
            "Hierarchical memory: working -> short_term -> long_term tiers, promotion, decay; typed stores.",
            "All memories are read as one flat tier; no promotion or decay runs; nothing is deleted.",
        ),
        Flag(
            USE_CROSS_AGENT_SHARING,
            3,
            "Cross-agent sharing: share memories with named agents or the project; session hand-off.",
            "Each agent sees only its own memories; share calls answer 'feature disabled'; "
            "existing shares are kept.",
        ),
        Flag(
            USE_ENHANCED_INJECTION,
            4,
            "Enhanced injection: hybrid lexical + dense retrieval, ranking, token budget, cache.",
            "Injection uses the legacy path: Phase 1 entities + most recent memories, no RAG, no cache.",
        ),
    )
}

FLAG_NAMES: tuple[str, ...] = tuple(FLAGS)
