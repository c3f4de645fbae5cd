"""Schema status for operators: what is applied, what is pending, what the code expects, and
whether the database holds what its ``schema_migrations`` says.

The version number alone is not the truth: a rollback script stopped half way leaves
``memories`` dropped while ``schema_migrations`` still says 4. So every status also reads the
tables (``store/inventory.promised_objects``: what migrations 1..N create) and the recorded
checksums. The states:

- ``current``: every migration this release ships is applied, everything they promise present;
- ``legacy``: every base migration applied, the feature ones (004, 005: Phase 2-4) rolled back
  (runbook option C): Phase 1 serves, Phase 2-4 routes answer 409 ``rolled_back``; ready;
- ``ahead``: a later release migrated it; this one ignores what it does not know; ready;
- ``behind``: a migration is pending, or an earlier text of an applied one is to be mended
  (``db migrate`` does both); 004 without 005 is here too: not a state to run in;
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

FEATURE_MIGRATIONS = migrations.FEATURE_MIGRATIONS  # what option C rolls back, newest first
PHASE_2_VERSION = 4  # 004 creates every Phase 2-4 table
LEGACY_MODE = "legacy (Phase 2-4 rolled back)"


def restore_command(path: Path | str) -> str:
    return f"memory-system db migrate --db {path}"


def rolled_back_message(path: Path | str) -> str:
    """What a Phase 2-4 call answers in legacy mode, over HTTP and MCP alike."""
    return (
        "the Phase 2-4 tables were rolled back (legacy mode: migration 004 is not applied): "
        f"this needs migration 004; restore them with '{restore_command(path)}' and restart the "
        "service (or restart it with 'serve --migrate')"
    )


@dataclass(frozen=True)
class SchemaFindings:
    """What one look at a database's schema found (cheap: two small reads)."""

    current: int
    expected: int
    applied: frozenset[int] = frozenset()
    problems: list[str] = field(default_factory=list)  # damage: what is missing or edited
    mends: list[str] = field(default_factory=list)  # earlier texts ``db migrate`` will mend

    @property
    def state(self) -> str:
        return schema_state(self.applied, self.expected, damaged=bool(self.problems), mends=bool(self.mends))

    @property
    def mode(self) -> str:
        return LEGACY_MODE if self.state == "legacy" else "full"


def examine(conn: Connection) -> SchemaFindings:
    """The schema as the tables and checksums show it, not only the version number."""
    known = migrations.load_migrations()
    recorded = migrations.recorded_checksums(conn)
    applied = frozenset(recorded)
    current = max(applied, default=0)
    problems, mends = migrations.checksum_problems(recorded, known)
    mend_lines = [
        f"migration {m.version:03d} was applied from its earlier text at {m.commit}; "
        f"'memory-system db migrate' mends it ({m.change})"
        for m in mends
    ]
    if not mends:  # an earlier text promises other objects: check them once it is mended
        missing = inventory.missing_objects(inventory.schema_objects(conn), applied)
        if missing:
            names = ", ".join(f"{kind} {name}" for kind, name in missing[:8])
            more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
            problems.append(
                f"schema_migrations says {versions_text(applied)} are applied, but the database lacks "
                f"{names}{more}: "
                "it is damaged (a rollback stopped half way?); restore a verified backup "
                "with 'memory-system db restore'"
            )
    return SchemaFindings(current, len(known), applied, problems, mend_lines)


def versions_text(applied: frozenset[int]) -> str:
    ordered = sorted(applied)
    if ordered == list(range(1, len(ordered) + 1)) and ordered:
        return f"001-{ordered[-1]:03d}"
    return ", ".join(f"{v:03d}" for v in ordered) or "none"


def expected_version() -> int:
    """The schema version this release expects: the number of migrations it ships."""
    return migrations.expected_version()


def schema_state(
    applied: frozenset[int], expected: int, *, damaged: bool = False, mends: bool = False
) -> str:
    """``current``, ``legacy``, ``ahead``, ``behind`` or ``damaged`` (see the module docstring),
    from the applied versions and the number of migrations this release ships."""
    if damaged:
        return "damaged"
    if mends:
        return "behind"
    known = frozenset(range(1, expected + 1))
    have = applied & known
    if have == known:
        return "ahead" if max(applied, default=0) > expected else "current"
    return "legacy" if have == known - FEATURE_MIGRATIONS else "behind"


def pending_versions(applied: frozenset[int], expected: int) -> list[int]:
    return [v for v in range(1, expected + 1) if v not in applied]


def not_ready_reason(findings: SchemaFindings, path: Path | str) -> str | None:
    """Why the service should take no traffic on this schema; None when it may."""
    state = findings.state
    if state == "damaged":
        return "schema damaged: " + "; ".join(findings.problems)
    if findings.mends:
        return "; ".join(findings.mends)
    if state != "behind":
        return None
    pending = pending_versions(findings.applied, findings.expected)
    features = FEATURE_MIGRATIONS & findings.applied
    if features and set(pending) & FEATURE_MIGRATIONS:
        absent = ", ".join(f"{v:03d}" for v in sorted(set(pending) & FEATURE_MIGRATIONS))
        newest = max(features)
        return (
            f"Phase 2-4 migrations are half rolled back ({absent} absent, {newest:03d} applied): not a "
            f"state to run in: run '{restore_command(path)}' (all of them back), or "
            f"'memory-system db rollback --migration {newest:03d} --db {path}' for legacy mode"
        )
    return (
        f"migration(s) {', '.join(f'{v:03d}' for v in pending)} pending (this release expects "
        f"{findings.expected}): run '{restore_command(path)}' (or restart with 'serve --migrate')"
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
    def applied_versions(self) -> frozenset[int]:
        return frozenset(int(m["version"]) for m in self.applied)

    @property
    def state(self) -> str:
        return schema_state(
            self.applied_versions, self.expected_version, damaged=bool(self.problems), mends=bool(self.mends)
        )

    @property
    def mode(self) -> str:
        return LEGACY_MODE if self.state == "legacy" else "full"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state, "mode": self.mode}


def migrate(
    path: Path, to: int | None = None, *, skip: frozenset[int] = frozenset()
) -> list[migrations.Migration]:
    conn = open_connection(path)
    try:
        return migrations.migrate(conn, to, skip=skip)
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
    """Are the Phase 2-4 migrations rolled back (and the rest sound), so the service runs in legacy mode?"""
    try:
        return status(path).state == "legacy"
    except StoreError:
        return False


def rolled_back_on_purpose(path: Path) -> frozenset[int]:
    """The migrations an operator rolled back that ``serve`` must not re-apply on its own (only
    ``serve --migrate`` or ``db migrate`` do): when the newest ``rollback_records`` row names a
    migration still absent, it and every absent shipped migration after it of its kind. After
    option C that is 004 and 005, while a new base migration (006) is still applied at start."""
    if not path.exists():
        return frozenset()
    conn = open_connection(path, create=False)
    try:
        newest = migrations.newest_rollback(conn)
        applied = migrations.applied_versions(conn)
    finally:
        conn.close()
    if newest is None or newest in applied:
        return frozenset()
    absent = {
        m.version for m in migrations.load_migrations() if m.version not in applied and m.version >= newest
    }
    if newest in FEATURE_MIGRATIONS:
        return frozenset(absent & FEATURE_MIGRATIONS)
    return frozenset(absent)
