"""Every released migration and rollback script is pinned by its sha256: an applied migration
is never edited again (a database migrated by the old text would be refused, or worse, differ
silently from a fresh one). A change goes into a new numbered migration."""

from __future__ import annotations

import hashlib

from memory_system.store import migration_history, migrations

PINNED = {
    "001_phase_1_entities.sql": "db770ea2298a380524742b6d887066037ada9d38970ec1ded4b0d76e72019cf7",
    "002_sessions_and_agents.sql": "90f3e45d6cdd4c0aeb5cb6e40d6483d516c080d499c1a1ac788adf39c478b2e7",
    "003_operations.sql": "28f757802bec20831b0425591fb6c60689f17801c5b8c46d6398258fdbc411e3",
    "004_phase_2_hierarchical_memory.sql": "4f23be05f84e032b16c4f0019472d03b23e69c651f46fcfc5a318dc55f16e247",
    "005_typed_store_audit.sql": "2a7ec3384a2d27c1b0ff49451e73bdebb4623ca5c1520b2d7681c8730756a601",
    "006_rollouts_incidents_approvals.sql": "fad19d2baab858c737ba0009f0a19fe23b96668a6678485b38344964edc0be15",  # noqa: E501
}
PINNED_ROLLBACKS = {
    "001_rollback.sql": "1d46510d972eafc410d113bddfc926a6bdbf49482b3bfd68ad237bb87200ffe1",
    "002_rollback.sql": "16b3ac67be109328eeed4ce73876b5c7a6248a62dca76062415e03c28a620ee4",
    "003_rollback.sql": "d0cc8908d4220041132eae51296b9f89d51499ecaa193729c38de31eef81da3f",
    "004_rollback.sql": "b46100b9a7b4a60b3b07185d3339a8dd2c02f2711d6970b17cae0c04481753bb",
    "005_rollback.sql": "ebe20e6089e08d88c67cc48857b3d6aed67b1b19b3241deb404d8f3a782a7455",
    "006_rollback.sql": "821042485084aa838e557761a8e9398d6568422c1f3ef156beb94e07536fee6e",
}
NEVER_EDIT = (
    "never edit an applied migration, add a new one (memory_system/migrations/NNN_name.sql with "
    "rollback/NNN_rollback.sql); a new file gets its line here"
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_migration_file_is_pinned() -> None:
    shipped = {f"{m.version:03d}_{m.name}.sql": m.checksum for m in migrations.load_migrations()}
    assert set(shipped) == set(PINNED), f"migrations on disk {sorted(shipped)}: {NEVER_EDIT}"
    for name, checksum in shipped.items():
        assert checksum == PINNED[name], f"{name} changed (sha256 {checksum}): {NEVER_EDIT}"


def test_every_rollback_script_is_pinned() -> None:
    directory = migrations.migrations_dir() / "rollback"
    found = {p.name: _sha(p.read_text()) for p in sorted(directory.glob("*.sql"))}
    assert set(found) == set(PINNED_ROLLBACKS), f"rollback scripts on disk {sorted(found)}: {NEVER_EDIT}"
    for name, checksum in found.items():
        assert checksum == PINNED_ROLLBACKS[name], f"{name} changed (sha256 {checksum}): {NEVER_EDIT}"


def test_no_earlier_text_is_the_current_one() -> None:
    current = {m.version: m.checksum for m in migrations.load_migrations()}
    for earlier in migration_history.EARLIER_TEXTS:
        assert earlier.checksum != current[earlier.version]
        assert earlier.upgrade_sql().strip(), earlier.upgrade
