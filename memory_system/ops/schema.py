"""Schema status for operators: what is applied, what is pending, what the code expects, and
whether the database holds what its ``schema_migrations`` says.

The version number alone is not the truth: a rollback script stopped half way leaves
``memories`` dropped while ``schema_migrations`` still says 4. So every status also reads the
tables (``store/inventory.promised_objects``: what migrations 1..N create) and the recorded
checksums. The states:

- ``current``: at the version this release expects, everything it promises present;
- ``legacy``: schema 3, migration 004 (Phase 2-4) rolled back (runbook option C): Phase 1
  serves, Phase 2-4 routes answer 409 ``rolled_back``; ready;
- ``ahead``: a later release migrated it; this one ignores what it does not know; ready;
- ``behind``: a migration is pending, or an earlier text of an applied one is to be mended
  (``db migrate`` does both); schema 4 (only 005 rolled back) is here too: not a state to run in;
- ``damaged``: a promised table, view, index or trigger is missing, or an applied migration's
  text changed into one no release knows: restore a verified backup.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from memory_system.core.errors import StoreError
from memory_system.store import inventory, migration_history, migrations
from memory_system.store.connection import Connection, open_connection

LEGACY_VERSION = 3  # 001-003: Phase 1 and operations; what option C leaves
PHASE_2_VERSION = 4  # 004 creates every Phase 2-4 table
LEGACY_MODE = f"legacy (schema {LEGACY_VERSION})"


def restore_command(path: Path | str) -> str:
    return f"memory-system db migrate --db {path}"


def rolled_back_message(path: Path | str, schema_version: int) -> str:
    """What a Phase 2-4 call answers in legacy mode, over HTTP and MCP alike."""
    mode = LEGACY_MODE if schema_version == LEGACY_VERSION else f"schema {schema_version}"
    return (
        f"the Phase 2-4 tables were rolled back (database at schema {schema_version}, {mode}): "
        f"this needs migration 004; restore them with '{restore_command(path)}' and restart the "
        "service (or restart it with 'serve --migrate')"
    )


@dataclass(frozen=True)
class SchemaFindings:
    """What one look at a database's schema found (cheap: two small reads)."""

    current: int
    expected: int
    problems: list[str] = field(default_factory=list)  # damage: what is missing or edited
    mends: list[str] = field(default_factory=list)  # earlier texts ``db migrate`` will mend

    @property
    def state(self) -> str:
        return schema_state(self.current, self.expected, damaged=bool(self.problems), mends=bool(self.mends))

    @property
    def mode(self) -> str:
        return LEGACY_MODE if self.state == "legacy" else "full"


def examine(conn: Connection) -> SchemaFindings:
    """The schema as the tables and checksums show it, not only the version number."""
    known = migrations.load_migrations()
    current = migrations.current_version(conn)
    problems, mends = migrations.checksum_problems(migrations.recorded_checksums(conn), known)
    mend_lines = [
        f"migration {m.version:03d} was applied from its earlier text at {m.commit}; "
        f"'memory-system db migrate' mends it ({m.change})"
        for m in mends
    ]
    if not mends:  # an earlier text promises other objects: check them once it is mended
        missing = inventory.missing_objects(inventory.schema_objects(conn), min(current, len(known)))
        if missing:
            names = ", ".join(f"{kind} {name}" for kind, name in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            problems.append(
                f"schema_migrations says version {current} but the database lacks {names}{more}: "
                "it is damaged (a rollback stopped half way?); restore a verified backup "
                "with 'memory-system db restore'"
            )
    return SchemaFindings(current, len(known), problems, mend_lines)


def expected_version() -> int:
    """The schema version this release expects: the number of migrations it ships."""
    return migrations.expected_version()


def schema_state(current: int, expected: int, *, damaged: bool = False, mends: bool = False) -> str:
    """``current``, ``legacy``, ``ahead``, ``behind`` or ``damaged`` (see the module docstring)."""
    if damaged:
        return "damaged"
    if mends:
        return "behind"
    if current == expected:
        return "current"
    if current > expected:
        return "ahead"
    return "legacy" if current == LEGACY_VERSION else "behind"


def not_ready_reason(findings: SchemaFindings, path: Path | str) -> str | None:
    """Why the service should take no traffic on this schema; None when it may."""
    state = findings.state
    if state == "damaged":
        return "schema damaged: " + "; ".join(findings.problems)
    if findings.mends:
        return "; ".join(findings.mends)
    if state != "behind":
        return None
    if findings.current == PHASE_2_VERSION:
        return (
            f"schema {PHASE_2_VERSION} (only migration 005 rolled back) is not a state to run in: "
            f"run '{restore_command(path)}' (back to {findings.expected}), or "
            f"'memory-system db rollback --migration 004 --db {path}' "
            f"for legacy mode (schema {LEGACY_VERSION})"
        )
    return (
        f"schema version {findings.current} is behind the {findings.expected} this release expects: "
        f"run '{restore_command(path)}' (or restart with 'serve --migrate')"
    )


@dataclass
class SchemaStatus:
    database: str
    current_version: int
    expected_version: int
    applied: list[dict[str, Any]]
    pending: list[dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    mends: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return schema_state(
            self.current_version, self.expected_version, damaged=bool(self.problems), mends=bool(self.mends)
        )

    @property
    def mode(self) -> str:
        return LEGACY_MODE if self.state == "legacy" else "full"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state, "mode": self.mode}


def migrate(path: Path, to: int | None = None) -> list[migrations.Migration]:
    conn = open_connection(path)
    try:
        return migrations.migrate(conn, to)
    finally:
        conn.close()


def mend(path: Path) -> list[migration_history.EarlierText]:
    """Mend earlier texts of applied migrations (``migrate`` does it too); returns what was mended."""
    conn = open_connection(path)
    try:
        return migrations.mend(conn)
    finally:
        conn.close()


def status(path: Path) -> SchemaStatus:
    conn = open_connection(path, create=False)
    try:
        known = migrations.load_migrations()
        findings = examine(conn)
        return SchemaStatus(
            database=str(path),
            current_version=findings.current,
            expected_version=len(known),
            applied=[asdict(m) for m in migrations.applied(conn)],
            pending=[{"version": m.version, "name": m.name} for m in migrations.pending(conn, known)],
            problems=findings.problems,
            mends=findings.mends,
        )
    finally:
        conn.close()


def is_legacy(path: Path) -> bool:
    """Is the database at schema 3 (Phase 2-4 rolled back), sound, so the service runs in legacy mode?"""
    try:
        return status(path).state == "legacy"
    except StoreError:
        return False


def rolled_back_on_purpose(path: Path) -> bool:
    """Did an operator roll back a migration that is still not applied? The newest
    ``rollback_records`` row names a migration absent from ``schema_migrations``: then
    ``serve`` must not re-apply it on its own (only ``serve --migrate`` or ``db migrate``)."""
    if not path.exists():
        return False
    conn = open_connection(path, create=False)
    try:
        newest = migrations.newest_rollback(conn)
        return newest is not None and newest not in migrations.recorded_checksums(conn)
    finally:
        conn.close()
