"""Agent tokens: each one binds an agent id and a namespace, so a request cannot pick either.

A token is shown once, at creation; the database keeps only its sha256, so a copy of the
database (a backup, a support bundle) gives nobody a working token. Lookup by hash is one
primary-key read per request, and a revocation takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from memory_system.core.errors import ServiceError
from memory_system.core.validation import AGENT_ID_PATTERN
from memory_system.store import agent_tokens as token_store
from memory_system.store.agent_tokens import TokenRecord
from memory_system.store.connection import Database

TOKEN_PREFIX = "mst_"
_NAME = re.compile(AGENT_ID_PATTERN)

__all__ = ["IssuedToken", "TokenError", "TokenRecord", "TokenService", "hash_token"]


class TokenError(ServiceError, ValueError):
    """A token request that cannot be honoured; the message says what to change."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    record: TokenRecord


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(field: str, value: str) -> str:
    if not _NAME.fullmatch(value):
        raise TokenError(
            f"{field} {value!r} is not valid: use 1-128 letters, digits or . _ : @ / - "
            "(starting with a letter or digit)"
        )
    return value


class TokenService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, agent_id: str, namespace: str = "default", label: str | None = None) -> IssuedToken:
        check_name("agent", agent_id)
        check_name("namespace", namespace)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db.write() as conn:
            record = token_store.insert(conn, hash_token(token), agent_id, namespace, label)
        return IssuedToken(token, record)

    def ready(self) -> bool:
        """Whether the database has the tokens table yet (migration 003); the CLI says to migrate."""
        return token_store.table_exists(self._db.reader())

    def authenticate(self, token: str) -> TokenRecord | None:
        """The live token record for ``token``, or None when unknown or revoked."""
        return token_store.find_active(self._db.reader(), hash_token(token))

    def list(self, *, include_revoked: bool = True) -> list[TokenRecord]:
        return token_store.list_all(self._db.reader(), include_revoked=include_revoked)

    def revoke(self, token_id: str) -> TokenRecord:
        """Revoke by the id ``tokens list`` shows (a hash prefix of 8+ characters)."""
        token_id = token_id.strip().lower()
        if len(token_id) < 8 or not re.fullmatch(r"[0-9a-f]+", token_id):
            raise TokenError(
                f"token id {token_id!r} is not valid: give the id 'memory-system tokens list' shows"
            )
        with self._db.write() as conn:
            matches = token_store.with_prefix(conn, token_id)
            if not matches:
                raise TokenError(f"no token has id {token_id}; see 'memory-system tokens list'")
            if len(matches) > 1:
                raise TokenError(f"token id {token_id} matches {len(matches)} tokens; give more characters")
            (record,) = matches
            token_store.revoke(conn, record.token_hash)
            updated = token_store.find(conn, record.token_hash)
        assert updated is not None
        return updated
