"""deploy/: the Prometheus rules and the Grafana board say what the service itself evaluates,
name only metrics the service exports, and pass promtool (syntax and rule unit tests)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from memory_system.core.metrics import REGISTRY
from memory_system.ops.alerts.config import AlertConfig
from memory_system.ops.alerts.rules import build_rules

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "memory-system.rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "memory-system.rules.test.yml"
BOARD = DEPLOY / "grafana" / "memory-system.json"
METRIC = re.compile(r"\bmemory_[a-z0-9_]+\b")


def _exported() -> set[str]:
    """Every series name /metrics can carry (a labelled metric with no child yet included)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "info": ("_info",)}
    return {family.name + s for family in REGISTRY.collect() for s in suffixes.get(family.type, ("",))}


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_the_rules_file_is_the_in_process_matrix() -> None:
    shipped = {a["labels"]["rule"]: a["labels"] for a in _alerts()}
    ours = {rule.name: rule for rule in build_rules(AlertConfig())}
    assert set(shipped) == set(ours)
    for name, labels in shipped.items():
        assert labels["severity"] == ours[name].severity.lower(), name
        assert labels.get("flags", "") == ",".join(ours[name].flags), name


def test_the_rules_use_the_default_thresholds() -> None:
    exprs = {a["labels"]["rule"]: a["expr"] for a in _alerts()}
    config = AlertConfig()
    assert f"> {config.injection_p95_critical_ms / 1000:g}" in exprs["injection_latency_p95"]
    assert f"> {config.memory_critical_fraction:g}" in exprs["memory_critical"]
    assert f"> {config.memory_warning_fraction:g}" in exprs["memory_warning"]
    assert f">= {config.injection_errors_critical_per_min:g}" in exprs["injection_errors_critical"]
    assert f"> {config.sharing_errors_critical_per_min:g}" in exprs["sharing_errors"]
    assert f"< {config.cache_hit_rate_warning:g}" in exprs["cache_hit_rate"]
    assert f">= {config.cache_min_lookups}" in exprs["cache_hit_rate"]


def test_every_metric_a_rule_or_a_panel_names_is_exported() -> None:
    exported = _exported()
    named = {m for a in _alerts() for m in METRIC.findall(a["expr"])}
    board = json.loads(BOARD.read_text())
    panels = [p for p in board["panels"] if p["type"] != "row"]
    named |= {m for p in panels for t in p["targets"] for m in METRIC.findall(t["expr"])}
    assert named and sorted(named - exported) == []


def test_the_board_has_the_runbooks_panels() -> None:
    titles = " | ".join(p["title"].lower() for p in json.loads(BOARD.read_text())["panels"])
    for wanted in (
        "injection latency p50 / p95 (baseline 100 ms, critical 500 ms)",
        "error rate",
        "memory use against the limit",
        "cache hit rate",
        "rag timeouts",
        "embedding backlog",
        "firing alerts",
        "effective value of each flag",
        "active sessions with each flag enabled",
        "since each flag last changed",
    ):
        assert wanted in titles


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus); CI installs it")
    return found


def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    promtool = _promtool()
    check = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in check.stdout
    tested = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
