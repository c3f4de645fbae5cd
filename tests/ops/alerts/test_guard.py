"""The automatic guard on a real database's flags: a CRITICAL alert turns exactly its tied
flags off, as ``auto_guard`` in the audit trail; warnings and untied rules touch nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_system.flags.service import FlagService
from memory_system.ops.alerts.config import AlertConfig
from memory_system.ops.alerts.engine import AlertTransition
from memory_system.ops.alerts.guard import AutoGuard
from memory_system.ops.alerts.rules import build_rules
from memory_system.store.connection import Database

RULES = {rule.name: rule for rule in build_rules(AlertConfig())}


@pytest.fixture
def flags(db: Database, tmp_path: Path) -> FlagService:
    return FlagService(db, {}, tmp_path / "none.json", cache_s=0)


def fire(guard: AutoGuard, rule: str, firing: bool = True) -> None:
    guard(AlertTransition(RULES[rule], firing, 1.0, 0.0))


def test_injection_latency_turns_off_enhanced_injection_only(flags: FlagService) -> None:
    guard = AutoGuard(flags)
    fire(guard, "injection_latency_p95")
    assert flags.values() == {
        "USE_HIERARCHICAL_TIERS": 1.0,
        "USE_CROSS_AGENT_SHARING": 1.0,
        "USE_ENHANCED_INJECTION": 0.0,
    }
    (event,) = flags.events()
    assert (event["flag"], event["source"], event["actor"], event["new_value"]) == (
        "USE_ENHANCED_INJECTION",
        "auto_guard",
        "auto_guard",
        0.0,
    )


def test_memory_exhaustion_turns_off_all_three_and_a_second_fire_changes_nothing(flags: FlagService) -> None:
    guard = AutoGuard(flags)
    flags.set("USE_CROSS_AGENT_SHARING", 0.1, actor="op", source="admin_api")
    fire(guard, "memory_critical")
    assert set(flags.values().values()) == {0.0}
    events = len(flags.events())
    fire(guard, "memory_critical")
    assert len(flags.events()) == events and len(guard.tripped) == 3


@pytest.mark.parametrize("rule", ["memory_warning", "database_failures", "integrity_check", "rag_timeouts"])
def test_warnings_and_rules_tied_to_no_flag_leave_every_flag_alone(flags: FlagService, rule: str) -> None:
    fire(AutoGuard(flags), rule)
    assert set(flags.values().values()) == {1.0} and flags.events() == []


def test_a_resolve_never_turns_a_flag_back_on(flags: FlagService) -> None:
    guard = AutoGuard(flags)
    fire(guard, "sharing_errors")
    fire(guard, "sharing_errors", firing=False)
    assert flags.value("USE_CROSS_AGENT_SHARING") == 0.0 and flags.value("USE_ENHANCED_INJECTION") == 1.0
