"""Approver identities: the people whose approval a database rollback (runbook option C) needs.

An approver is a credential, like an agent token: a name, a role (``manager`` for the
Engineering Manager, ``dba`` for the DBA) and a token shown once at creation, of which only
the sha256 is kept. Approving with the token is what makes an approval more than a typed
name: nobody can approve as someone else without their token, and a revoked approver's
approvals stop counting at once.

Two approvers with the same name (ignoring case and spacing) are one person: a person given
both roles still counts once (``ops/approvals`` refuses that pair).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from memory_system.auth.agent_tokens import TokenError, hash_token
from memory_system.store import approvers as approver_store
from memory_system.store.approvers import ApproverRecord
from memory_system.store.connection import Database

APPROVER_PREFIX = "msa_"
ROLES = ("manager", "dba")
_NAME = re.compile(r"[^\W_][\w .@'-]{0,127}")

__all__ = [
    "APPROVER_PREFIX",
    "ROLES",
    "ApproverRecord",
    "ApproverService",
    "IssuedApprover",
    "person_key",
]


@dataclass(frozen=True)
class IssuedApprover:
    token: str
    record: ApproverRecord


def person_key(name: str) -> str:
    """Who a name denotes: case and runs of spaces do not make another person."""
    return " ".join(name.split()).casefold()


def check_person(name: str) -> str:
    cleaned = " ".join(name.split())
    if not name.isprintable() or not _NAME.fullmatch(cleaned):
        raise TokenError(
            f"approver name {name!r} is not valid: use 1-128 letters, digits, spaces or . @ ' - "
            "(starting with a letter or digit)"
        )
    return cleaned


def check_role(role: str) -> str:
    if role not in ROLES:
        raise TokenError(f"role {role!r} is not valid: use one of {', '.join(ROLES)}")
    return role


class ApproverService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def ready(self) -> bool:
        """Whether the database has the approvers table (migration 006)."""
        return approver_store.table_exists(self._db.reader())

    def create(self, name: str, role: str) -> IssuedApprover:
        name, role = check_person(name), check_role(role)
        token = APPROVER_PREFIX + secrets.token_urlsafe(32)
        with self._db.write() as conn:
            record = approver_store.insert(conn, hash_token(token), name, role)
        return IssuedApprover(token, record)

    def authenticate(self, token: str) -> ApproverRecord | None:
        """The live approver for ``token``; None when unknown or revoked."""
        record = approver_store.find(self._db.reader(), hash_token(token.strip()))
        return record if record is not None and record.revoked_at is None else None

    def matching(self, token_id: str) -> list[ApproverRecord]:
        """Approvers whose id (hash prefix) starts with ``token_id`` (``tokens revoke`` looks here too)."""
        return approver_store.with_prefix(self._db.reader(), token_id.strip().lower())

    def list(self, *, include_revoked: bool = True) -> list[ApproverRecord]:
        return approver_store.list_all(self._db.reader(), include_revoked=include_revoked)

    def revoke(self, token_id: str) -> ApproverRecord:
        """Revoke by the id ``tokens list`` shows; the approvals it gave stop counting."""
        token_id = token_id.strip().lower()
        if len(token_id) < 8 or not re.fullmatch(r"[0-9a-f]+", token_id):
            raise TokenError(
                f"approver id {token_id!r} is not valid: give the id 'memory-system tokens list' shows"
            )
        with self._db.write() as conn:
            matches = approver_store.with_prefix(conn, token_id)
            if not matches:
                raise TokenError(f"no approver has id {token_id}; see 'memory-system tokens list'")
            if len(matches) > 1:
                raise TokenError(
                    f"approver id {token_id} matches {len(matches)} approvers; give more characters"
                )
            approver_store.revoke(conn, matches[0].id)
            updated = approver_store.get(conn, matches[0].id)
        assert updated is not None
        return updated
