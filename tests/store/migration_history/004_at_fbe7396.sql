-- Phases 2-4: hierarchical memories, typed stores, cross-agent sharing, full-text and
-- vector search. rollback/004_rollback.sql removes exactly these objects.
CREATE TABLE memories (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: vector index keys stay unique
    namespace           TEXT NOT NULL DEFAULT 'default',
    agent_id            TEXT NOT NULL,
    session_id          TEXT,
    user_id             TEXT,
    kind                TEXT NOT NULL DEFAULT 'note',
    tier                TEXT NOT NULL DEFAULT 'short_term'
                        CHECK (tier IN ('working', 'short_term', 'long_term')),
    content             TEXT NOT NULL,
    content_hash        TEXT NOT NULL,   -- of the normalised content: near-identical writes reinforce
    importance          REAL NOT NULL DEFAULT 0.5 CHECK (importance >= 0 AND importance <= 1),
    metadata            TEXT NOT NULL DEFAULT '{}',
    visibility          TEXT NOT NULL DEFAULT 'private'
                        CHECK (visibility IN ('private', 'shared', 'namespace')),
    occurred_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_accessed_at    TEXT,
    access_count        INTEGER NOT NULL DEFAULT 0,
    reinforcement_count INTEGER NOT NULL DEFAULT 0,
    expires_at          TEXT
);
CREATE INDEX memories_scope ON memories (namespace, agent_id, created_at);
CREATE INDEX memories_session ON memories (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX memories_tier ON memories (tier, namespace);
CREATE INDEX memories_created ON memories (created_at);
CREATE UNIQUE INDEX memories_dedupe ON memories (namespace, agent_id, content_hash);

-- Full text (FTS5 BM25), kept in step by triggers. Contentless (rows are read from memories):
-- `content` is the memory text, `context` the string values of its metadata (speaker, file,
-- tags: findable, weighted lower), `scope` one token per namespace ('ns' + hex) so that a
-- query matches inside its namespace instead of ranking every namespace's matches.
CREATE VIRTUAL TABLE memories_fts USING fts5 (
    content, context, scope,
    content = '', contentless_delete = 1, tokenize = 'porter unicode61'
);
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content, context, scope) VALUES (
        new.id, new.content,
        (SELECT group_concat(value, ' ') FROM json_each(new.metadata) WHERE type = 'text'),
        'ns' || hex(new.namespace));
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = old.id;
END;
CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, metadata, namespace ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = old.id;
    INSERT INTO memories_fts (rowid, content, context, scope) VALUES (
        new.id, new.content,
        (SELECT group_concat(value, ' ') FROM json_each(new.metadata) WHERE type = 'text'),
        'ns' || hex(new.namespace));
END;

-- Dense vectors, float32 little-endian blobs (the layout sqlite-vec reads), one per memory.
CREATE TABLE memory_embeddings (
    memory_id  INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    namespace  TEXT NOT NULL,
    model      TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX memory_embeddings_namespace ON memory_embeddings (namespace);
CREATE INDEX memory_embeddings_created ON memory_embeddings (created_at);  -- index sync across processes
-- Online re-embedding writes the new model's vectors here while search keeps using the old
-- ones, then swaps them into memory_embeddings in one transaction.
CREATE TABLE memory_embeddings_next (
    memory_id  INTEGER PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    namespace  TEXT NOT NULL,
    model      TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Cross-agent sharing: live grants (grantee NULL = the whole namespace) and the audit trail.
CREATE TABLE memory_shares (
    id               INTEGER PRIMARY KEY,
    memory_id        INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    namespace        TEXT NOT NULL,
    grantee_agent_id TEXT,
    granted_by       TEXT NOT NULL,
    expires_at       TEXT,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX memory_shares_memory ON memory_shares (memory_id);
CREATE INDEX memory_shares_grantee ON memory_shares (namespace, grantee_agent_id);
-- One grant per (memory, grantee); '' stands for the namespace, never an agent id.
CREATE UNIQUE INDEX memory_shares_one_grant ON memory_shares (memory_id, COALESCE(grantee_agent_id, ''));

CREATE TABLE share_events (
    id               INTEGER PRIMARY KEY,
    memory_id        INTEGER,  -- no foreign key: the trail outlives the memory; NULL: a whole hand-off
    session_id       TEXT,     -- the handed-off session, for 'handoff' rows
    namespace        TEXT NOT NULL,
    action           TEXT NOT NULL CHECK (action IN ('grant', 'revoke', 'handoff')),
    grantee_agent_id TEXT,
    actor            TEXT NOT NULL,
    expires_at       TEXT,
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX share_events_namespace ON share_events (namespace, id);
-- A memory written or changed to visibility 'namespace' is a namespace grant without a
-- memory_shares row; the trail records it whichever path (API, batch, import) wrote it.
CREATE TRIGGER memories_namespace_grant AFTER INSERT ON memories WHEN new.visibility = 'namespace' BEGIN
    INSERT INTO share_events (memory_id, namespace, action, actor) VALUES (new.id, new.namespace, 'grant', new.agent_id);
END;
CREATE TRIGGER memories_namespace_regrant AFTER UPDATE OF visibility ON memories
WHEN (old.visibility = 'namespace') != (new.visibility = 'namespace') BEGIN
    INSERT INTO share_events (memory_id, namespace, action, actor) VALUES (
        new.id, new.namespace, CASE WHEN new.visibility = 'namespace' THEN 'grant' ELSE 'revoke' END, new.agent_id);
END;

-- Typed stores.
CREATE TABLE user_preferences (
    id         INTEGER PRIMARY KEY,
    namespace  TEXT NOT NULL DEFAULT 'default',
    user_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,  -- JSON
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (namespace, user_id, key)
);

CREATE TABLE code_patterns (
    id          INTEGER PRIMARY KEY,
    namespace   TEXT NOT NULL DEFAULT 'default',
    agent_id    TEXT NOT NULL,
    language    TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    example     TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (namespace, language, name)
);
CREATE VIRTUAL TABLE code_patterns_fts USING fts5 (
    name, description, example, language,
    content = 'code_patterns', content_rowid = 'id', tokenize = 'porter unicode61'
);
CREATE TRIGGER code_patterns_fts_insert AFTER INSERT ON code_patterns BEGIN
    INSERT INTO code_patterns_fts (rowid, name, description, example, language)
    VALUES (new.id, new.name, new.description, new.example, new.language);
END;
CREATE TRIGGER code_patterns_fts_delete AFTER DELETE ON code_patterns BEGIN
    INSERT INTO code_patterns_fts (code_patterns_fts, rowid, name, description, example, language)
    VALUES ('delete', old.id, old.name, old.description, old.example, old.language);
END;
CREATE TRIGGER code_patterns_fts_update AFTER UPDATE ON code_patterns BEGIN
    INSERT INTO code_patterns_fts (code_patterns_fts, rowid, name, description, example, language)
    VALUES ('delete', old.id, old.name, old.description, old.example, old.language);
    INSERT INTO code_patterns_fts (rowid, name, description, example, language)
    VALUES (new.id, new.name, new.description, new.example, new.language);
END;

CREATE TABLE session_state (
    session_id TEXT PRIMARY KEY,
    namespace  TEXT NOT NULL DEFAULT 'default',
    agent_id   TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT '{}',  -- JSON document
    version    INTEGER NOT NULL DEFAULT 1,  -- optimistic concurrency: a stale write gets 409
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE session_handoffs (
    id             INTEGER PRIMARY KEY,
    namespace      TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    from_agent_id  TEXT NOT NULL,
    to_agent_id    TEXT NOT NULL,
    new_session_id TEXT NOT NULL,
    memories_moved INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Memory-system metadata: embedding model and dimension, scope versions, maintenance runs.
CREATE TABLE memory_metadata (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
