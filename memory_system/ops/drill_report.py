"""What a drill leaves behind: its report (markdown and JSON), its ``drills`` row in the real
database, the history, and how fresh each option's last passed drill is (``/health/deep``).

The runbook asks for quarterly drills with the results documented: a drill older than
``STALE_AFTER`` (90 days) for any option is a warning in ``/health/deep``'s details, never a
failed check (nobody is paged, readiness is untouched).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from memory_system.core.clock import format_utc
from memory_system.store import drills as rows
from memory_system.store.connection import Connection, Database

OPTIONS = ("a", "b", "c")
STALE_AFTER = timedelta(days=90)


@dataclass
class DrillStep:
    name: str
    started_at: str
    seconds: float
    ok: bool
    detail: str = ""
    checks: list[dict[str, Any]] = field(default_factory=list)  # {name, ok, detail}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DrillReport:
    option: str
    db_path: str
    started_at: str
    ended_at: str = ""
    seconds: float = 0.0
    steps: list[DrillStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps) and not self.failures

    @property
    def outcome(self) -> str:
        return "passed" if self.ok else "failed"

    @property
    def checks(self) -> list[dict[str, Any]]:
        return [{"step": s.name, **c} for s in self.steps for c in s.checks]

    @property
    def failures(self) -> list[str]:
        failed = [f"{s.name}: {s.detail}" for s in self.steps if not s.ok]
        failed += [
            f"{c['step']}: check {c['name']!r} failed: {c.get('detail', '')}"
            for c in self.checks
            if not c["ok"]
        ]
        return failed

    def summary(self) -> dict[str, Any]:
        """What the ``drills`` row keeps: the steps with times, every check, every failure."""
        return {
            "steps": [{k: v for k, v in s.to_dict().items() if k != "checks"} for s in self.steps],
            "checks": self.checks,
            "failures": self.failures,
            "notes": self.notes,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "outcome": self.outcome,
            "ok": self.ok,
            "db_path": self.db_path,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "seconds": self.seconds,
            "scratch": self.scratch,
            "notes": self.notes,
            "steps": [s.to_dict() for s in self.steps],
            "failures": self.failures,
        }


def default_report_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".drills")


def _stamp(started_at: str) -> str:
    return started_at.replace("-", "").replace(":", "").replace(".", "")


def markdown(report: DrillReport) -> str:
    lines = [
        f"# Rollback drill, option {report.option.upper()}: {report.outcome.upper()}",
        "",
        f"- database: `{report.db_path}` (drilled on a scratch copy; only this row was written to it)",
        f"- started {report.started_at}, ended {report.ended_at}, {report.seconds:.2f} s in all",
    ]
    lines += [f"- note: {n}" for n in report.notes]
    lines += [
        "",
        "## Steps",
        "",
        "| step | started (UTC) | seconds | outcome | detail |",
        "|---|---|---|---|---|",
    ]
    for s in report.steps:
        detail = s.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {s.name} | {s.started_at} | {s.seconds:.2f} | {'ok' if s.ok else 'FAILED'} | {detail} |"
        )
    lines += ["", "## Checks", "", "| step | check | outcome | detail |", "|---|---|---|---|"]
    for c in report.checks:
        detail = str(c.get("detail", "")).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {c['step']} | {c['name']} | {'ok' if c['ok'] else 'FAILED'} | {detail} |")
    lines += ["", "## Failures", ""]
    lines += [f"- {f}" for f in report.failures] or ["none"]
    return "\n".join(lines) + "\n"


def write_report(report: DrillReport, directory: Path) -> tuple[Path, Path]:
    """``drill-<option>-<UTC stamp>.md`` and ``.json`` in ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / f"drill-{report.option}-{_stamp(report.started_at)}"
    md, js = base.with_suffix(".md"), base.with_suffix(".json")
    md.write_text(markdown(report))
    js.write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    return md, js


def record(db_path: Path, report: DrillReport, report_path: Path | None) -> int:
    """The drill's one row in the real database."""
    with Database(db_path, create=False) as db, db.write() as conn:
        return rows.insert(
            conn,
            option=report.option,
            outcome=report.outcome,
            started_at=report.started_at,
            ended_at=report.ended_at,
            duration_seconds=report.seconds,
            report_path=None if report_path is None else str(report_path),
            summary=report.summary(),
        )


def history(db_path: Path, option: str | None = None, limit: int = 50) -> list[rows.DrillRow]:
    with Database(db_path, create=False, read_only=True) as db:
        return rows.recent(db.reader(), option, limit)


def freshness(conn: Connection, now: datetime | None = None) -> dict[str, Any]:
    """Each option's last passed drill (ISO or None) and, when one is older than 90 days or
    missing, a ``warning`` naming the command to run."""
    last = rows.last_passed(conn)
    cutoff = format_utc((now or datetime.now(UTC)) - STALE_AFTER)
    found: dict[str, Any] = {option: last.get(option) for option in OPTIONS}
    stale = [o for o in OPTIONS if found[o] is None or found[o] < cutoff]
    if stale:
        found["warning"] = "; ".join(
            f"option {o} not drilled in {STALE_AFTER.days} days: run 'memory-system drill {o}'" for o in stale
        )
    return found
