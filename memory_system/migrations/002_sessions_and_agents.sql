-- Agent sessions and agent tokens. Sessions carry last activity so the service can
-- count "active sessions with flag enabled"; tokens are stored only as sha256 hashes.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    namespace      TEXT NOT NULL DEFAULT 'default',
    agent_id       TEXT NOT NULL,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_active_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at       TEXT
);
CREATE INDEX sessions_active ON sessions (ended_at, last_active_at);

CREATE TABLE agent_tokens (
    token_hash TEXT PRIMARY KEY,
    agent_id   TEXT NOT NULL,
    namespace  TEXT NOT NULL DEFAULT 'default',
    label      TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at TEXT
);
