"""Agent tokens at the service level: issued once, stored only as a hash, revoked by id prefix."""

from __future__ import annotations

import hashlib

import pytest

from memory_system.auth.agent_tokens import TOKEN_PREFIX, TokenError, TokenService, hash_token
from memory_system.store.connection import Database


def _stored_hashes(db: Database) -> list[str]:
    return [row[0] for row in db.reader().execute("SELECT token_hash FROM agent_tokens")]


def test_a_token_is_shown_once_and_only_its_hash_is_stored(db: Database) -> None:
    tokens = TokenService(db)
    issued = tokens.create("coder", "acme", label="laptop")
    assert issued.token.startswith(TOKEN_PREFIX) and len(issued.token) > 40
    assert _stored_hashes(db) == [hashlib.sha256(issued.token.encode()).hexdigest()]
    assert issued.token not in str(list(db.reader().execute("SELECT * FROM agent_tokens").fetchall()[0]))
    record = tokens.authenticate(issued.token)
    assert record is not None and (record.agent_id, record.namespace, record.label) == (
        "coder",
        "acme",
        "laptop",
    )
    assert tokens.authenticate(issued.token + "x") is None


def test_revoking_by_the_listed_id_stops_the_next_authentication(db: Database) -> None:
    tokens = TokenService(db)
    issued = tokens.create("coder", "acme")
    other = tokens.create("reviewer", "acme")
    revoked = tokens.revoke(hash_token(issued.token)[:12])
    assert revoked.revoked_at is not None
    assert tokens.authenticate(issued.token) is None
    assert tokens.authenticate(other.token) is not None
    assert [r.agent_id for r in tokens.list(include_revoked=False)] == ["reviewer"]
    assert sorted(r.agent_id for r in tokens.list()) == ["coder", "reviewer"]


@pytest.mark.parametrize(
    ("agent", "namespace", "named"),
    [
        ("", "acme", "agent"),
        ("co der", "acme", "agent"),
        ("coder", "-acme", "namespace"),
        ("x" * 129, "a", "agent"),
    ],
)
def test_bad_names_are_refused_naming_the_field_and_nothing_is_stored(
    db: Database, agent: str, namespace: str, named: str
) -> None:
    with pytest.raises(TokenError, match=f"^{named} "):
        TokenService(db).create(agent, namespace)
    assert _stored_hashes(db) == []


@pytest.mark.parametrize(
    ("token_id", "says"), [("abc", "not valid"), ("zzzzzzzz", "not valid"), ("0" * 12, "no token")]
)
def test_a_bad_or_unknown_id_is_refused_and_revokes_nothing(db: Database, token_id: str, says: str) -> None:
    tokens = TokenService(db)
    issued = tokens.create("coder", "acme")
    with pytest.raises(TokenError, match=says):
        tokens.revoke(token_id)
    assert tokens.authenticate(issued.token) is not None
