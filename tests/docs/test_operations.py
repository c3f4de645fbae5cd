"""docs/operations.md lists every log event and every metric the code emits, and every section
of the config file."""

from __future__ import annotations

import ast
from pathlib import Path

from memory_system.core import metrics
from memory_system.core.settings_loader import OTHER_SECTIONS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()


def _logged_events() -> set[str]:
    events: set[str] = set()
    for path in (ROOT / "memory_system").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "log_event":
                names = [
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                if names:
                    events.add(names[0])
    return events


def test_the_scan_finds_the_events_we_know_exist() -> None:
    assert {"feature_flag_changed", "http_request", "db_rollback_emergency"} <= _logged_events()


def test_every_log_event_is_documented() -> None:
    assert sorted(e for e in _logged_events() if f"`{e}`" not in DOC) == []


def test_every_metric_is_documented() -> None:
    names = {metric.name for metric in metrics.REGISTRY.collect()}
    assert names, "the registry exports nothing"
    assert sorted(n for n in names if f"`{n}" not in DOC) == []


def test_every_section_of_the_config_file_is_shown_and_linked() -> None:
    settings = DOC.split("## Running the service", 1)[1].split("\n## ", 1)[0]
    assert sorted(s for s in OTHER_SECTIONS if f'"{s}":' not in settings or f"`{s}`" not in settings) == []
