"""Approver identities are credentials: the token is shown once, only its sha256 is kept, and a
revoked approver no longer authenticates."""

from __future__ import annotations

import hashlib

import pytest

from memory_system.auth.agent_tokens import TokenError
from memory_system.auth.approvers import APPROVER_PREFIX, ApproverService, person_key
from memory_system.store.connection import Database


def test_create_keeps_only_the_hash_and_authenticates(db: Database) -> None:
    people = ApproverService(db)
    assert people.ready()
    issued = people.create("  Alice   Smith ", "manager")
    assert issued.token.startswith(APPROVER_PREFIX) and len(issued.token) > 40
    assert issued.record.name == "Alice Smith" and issued.record.role == "manager"
    assert issued.record.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert people.authenticate(issued.token) == issued.record
    assert people.authenticate(issued.token + "x") is None
    assert people.authenticate("mst_an-agent-token") is None


def test_revoke_by_the_listed_id(db: Database) -> None:
    people = ApproverService(db)
    issued = people.create("Bob", "dba")
    revoked = people.revoke(issued.record.token_id)
    assert revoked.revoked_at is not None
    assert people.authenticate(issued.token) is None
    assert people.list(include_revoked=False) == [] and people.list() == [revoked]
    with pytest.raises(TokenError, match="no approver has id"):
        people.revoke("0" * 12)
    with pytest.raises(TokenError, match="not valid"):
        people.revoke("xyz")


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [("", "dba", "name"), ("   ", "dba", "name"), ("-bob", "dba", "name"), ("a\nb", "dba", "name"),
     ("x" * 129, "dba", "name"), ("Bob", "admin", "role"), ("Bob", "", "role")],
)  # fmt: skip
def test_bad_names_and_roles_are_refused(db: Database, name: str, role: str, message: str) -> None:
    people = ApproverService(db)
    with pytest.raises(TokenError, match=message):
        people.create(name, role)
    assert people.list() == []


def test_one_person_whatever_the_case_and_spacing() -> None:
    assert person_key("Ann  Lee") == person_key(" ann lee ") != person_key("Ann Leet")
