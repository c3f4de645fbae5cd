"""Preferences, code patterns and memory metadata against a real database file."""

from __future__ import annotations

import pytest

from memory_system.memory.records.models import MemoryValidationError
from memory_system.memory.typed.code_patterns import CodePatternNotFound, CodePatternStore, fts_query
from memory_system.memory.typed.preferences import PreferenceNotFound, PreferenceStore
from memory_system.memory.typed.system_metadata import SystemMetadataStore
from memory_system.store.connection import Database
from memory_system.store.scope_versions import scope_version


def rows(db: Database, table: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in db.reader().execute(f"SELECT * FROM {table} ORDER BY 1")]


def test_preferences_per_user_and_namespace(db: Database) -> None:
    prefs = PreferenceStore(db)
    pref, created = prefs.put("ns", "u1", "editor.indent", {"style": "tabs", "width": 4}, agent_id="a1")
    assert created and pref.value == {"style": "tabs", "width": 4}
    again, created = prefs.put("ns", "u1", "editor.indent", "spaces", agent_id="a1")
    assert not created and again.value == "spaces" and again.created_at == pref.created_at
    prefs.put("ns", "u1", "language", "en", agent_id="a1")
    prefs.put("ns", "u2", "language", "fr", agent_id="a1")
    prefs.put("other", "u1", "language", "de", agent_id="a1")
    assert [(p.key, p.value) for p in prefs.list("ns", "u1")] == [
        ("editor.indent", "spaces"),
        ("language", "en"),
    ]
    assert prefs.get("other", "u1", "language").value == "de"
    assert scope_version(db.reader(), "ns") == 4
    prefs.delete("ns", "u1", "language", agent_id="a1")
    with pytest.raises(PreferenceNotFound):
        prefs.get("ns", "u1", "language")
    with pytest.raises(PreferenceNotFound):
        prefs.delete("ns", "u1", "language", agent_id="a1")


def test_preferences_refuse_bad_input_and_change_nothing(db: Database) -> None:
    prefs = PreferenceStore(db)
    prefs.put("ns", "u1", "theme", "dark", agent_id="a1")
    before = rows(db, "user_preferences")
    for user, key, value, field in (
        ("", "theme", 1, "user_id"),
        ("u1", "bad key!", 1, "key"),
        ("u1", "theme", "x" * 20000, "value"),
        ("u1", "theme", {1, 2}, "value"),
    ):
        with pytest.raises(MemoryValidationError) as info:
            prefs.put("ns", user, key, value, agent_id="a1")
        assert info.value.field == field
    assert rows(db, "user_preferences") == before


def test_code_patterns_upsert_search_delete(db: Database) -> None:
    patterns = CodePatternStore(db)
    retry, created = patterns.put(
        "ns",
        "a1",
        {
            "language": "Python",
            "name": "retry with backoff",
            "description": "Retry flaky HTTP calls with exponential backoff",
            "example": "for attempt in range(5): time.sleep(2 ** attempt)",
        },
    )
    assert created and retry.language == "python"
    patterns.put(
        "ns",
        "a1",
        {
            "language": "go",
            "name": "context timeout",
            "description": "Bound every call",
            "example": "ctx, cancel := context.WithTimeout(ctx, time.Second)",
        },
    )
    patterns.put(
        "ns", "a1", {"language": "python", "name": "dataclass config", "description": "Frozen settings"}
    )
    patterns.put("other", "a9", {"language": "python", "name": "retry", "description": "backoff elsewhere"})
    found = patterns.search("ns", "exponential backoff")
    assert [p.name for p in found] == ["retry with backoff"] and found[0].score is not None
    assert [p.name for p in patterns.search("ns", "timeout", language="go")] == ["context timeout"]
    assert patterns.search("ns", "timeout", language="python") == []
    assert patterns.search("ns", 'NEAR("x" AND) OR *') == []  # operators are quoted, never parsed
    updated, created = patterns.put(
        "ns",
        "a2",
        {"language": "python", "name": "retry with backoff", "description": "Use jittered backoff"},
    )
    assert not created and updated.id == retry.id and updated.agent_id == "a2"
    assert [p.name for p in patterns.search("ns", "jittered")] == ["retry with backoff"]
    assert patterns.search("ns", "exponential") == []  # the FTS index follows the update
    assert [p.name for p in patterns.list("ns", language="python")] == [
        "dataclass config",
        "retry with backoff",
    ]
    patterns.delete("ns", retry.id, agent_id="a1")
    assert patterns.search("ns", "jittered") == []
    with pytest.raises(CodePatternNotFound):
        patterns.get("ns", retry.id)
    with pytest.raises(CodePatternNotFound):  # another namespace's pattern is not ours to delete
        patterns.delete("ns", patterns.search("other", "retry")[0].id, agent_id="a1")


def test_code_patterns_refuse_bad_input(db: Database) -> None:
    patterns = CodePatternStore(db)
    for data, field in (
        ({"name": "x"}, "language"),
        ({"language": "python"}, "name"),
        ({"language": "py thon", "name": "x"}, "language"),
        ({"language": "python", "name": "x", "example": 5}, "example"),
        ({"language": "python", "name": "x", "author": "me"}, "author"),
    ):
        with pytest.raises(MemoryValidationError) as info:
            patterns.put("ns", "a1", data)
        assert info.value.field == field
    with pytest.raises(MemoryValidationError):
        patterns.search("ns", "   ")
    assert rows(db, "code_patterns") == []


def test_fts_query_quotes_every_term() -> None:
    assert fts_query('retry "backoff" AND') == '"retry" OR "backoff" OR "and"'
    assert fts_query("!!! ***") is None


def test_metadata_store(db: Database) -> None:
    meta = SystemMetadataStore(db)
    meta.set("embedding:model", {"name": "all-MiniLM-L6-v2", "dim": 384})
    meta.set("embedding:stale", False)
    meta.set("other_key", 1)
    assert meta.get("embedding:model") == {"name": "all-MiniLM-L6-v2", "dim": 384}
    assert meta.items("embedding:") == {
        "embedding:model": {"name": "all-MiniLM-L6-v2", "dim": 384},
        "embedding:stale": False,
    }
    assert meta.items("other%") == {}  # a prefix, not a LIKE pattern
    assert meta.delete("embedding:stale") and not meta.delete("embedding:stale")
    assert meta.get("embedding:stale", "absent") == "absent"
    with pytest.raises(ValueError, match="metadata key"):
        meta.set("bad key", 1)
