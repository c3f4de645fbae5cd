"""Earlier texts of applied migrations, and the SQL that brings each to the current one.

A migration that has been applied is never edited again (``tests/store/test_migration_checksums.py``
pins every file's sha256). Before that rule, migration 004 was edited in place twice, and
databases exist that were migrated by each text. Each earlier text is listed here by its
sha256 with an upgrade script in ``memory_system/migrations/history/`` that brings a database
migrated by it to exactly what the current file creates (the same ``sqlite_master``);
``store/migrations.mend`` runs the script and records the current checksum in one
transaction.

Migration 003 was edited too (e3abbfa, 06786d5, then 352c912), but only on the first day,
while 004 still had texts no database outside development runs (e3abbfa..6391646); a
database from then fails the 004 checksum anyway. They are not mended; the checksum check
names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from memory_system.core.errors import MigrationError


@dataclass(frozen=True)
class EarlierText:
    """An earlier text of migration ``version``, as applied by the builds up to ``commit``."""

    version: int
    checksum: str
    commit: str
    change: str  # what the later edit changed, for the log and the operator
    upgrade: str  # file name in migrations/history/

    def upgrade_sql(self) -> str:
        path = history_dir() / self.upgrade
        try:
            return path.read_text()
        except OSError as exc:
            raise MigrationError(
                f"the upgrade script {path} for migration {self.version:03d} as applied at "
                f"{self.commit} is missing from this install: reinstall the package"
            ) from exc


EARLIER_TEXTS: tuple[EarlierText, ...] = (
    EarlierText(
        version=4,
        checksum="1ffe3dcabc650bab8b413225d6347ad994d661b301be1e1a8ee8d7929124b3c5",
        commit="fbe7396",
        change="adds the trigram entity-search indexes and their triggers (aa2c0de, 8cc23e8)",
        upgrade="004_from_fbe7396.sql",
    ),
    EarlierText(
        version=4,
        checksum="182bdcb1fbfb21bd7f385644694e629b77c5d176c8149304325b8c99c818365b",
        commit="aa2c0de",
        change="entity_search_charset becomes a view (8cc23e8)",
        upgrade="004_from_aa2c0de.sql",
    ),
)


def history_dir() -> Path:
    return Path(str(resources.files("memory_system") / "migrations" / "history"))


def earlier_text(version: int, checksum: str) -> EarlierText | None:
    """The registered earlier text of ``version`` with this checksum, if there is one."""
    return next((t for t in EARLIER_TEXTS if t.version == version and t.checksum == checksum), None)
