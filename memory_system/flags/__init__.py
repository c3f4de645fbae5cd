"""Feature flags: three phase switches, each from env, config file and database; off anywhere is off."""

from memory_system.flags.keys import flag_key
from memory_system.flags.names import (
    FLAG_NAMES,
    FLAGS,
    USE_CROSS_AGENT_SHARING,
    USE_ENHANCED_INJECTION,
    USE_HIERARCHICAL_TIERS,
)
from memory_system.flags.service import FlagChange, FlagService
from memory_system.flags.values import FlagError

__all__ = [
    "FLAGS",
    "FLAG_NAMES",
    "USE_CROSS_AGENT_SHARING",
    "USE_ENHANCED_INJECTION",
    "USE_HIERARCHICAL_TIERS",
    "FlagChange",
    "FlagError",
    "FlagService",
    "flag_key",
]
