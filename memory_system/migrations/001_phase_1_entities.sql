-- Phase 1: the knowledge graph of the reference MCP memory server, per namespace.
-- Relations point at entity rows so that deleting an entity removes its relations
-- (ON DELETE CASCADE) and foreign_key_check can prove the graph is whole.
CREATE TABLE entities (
    id          INTEGER PRIMARY KEY,
    namespace   TEXT NOT NULL DEFAULT 'default',
    name        TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (namespace, name)
);

CREATE TABLE observations (
    id         INTEGER PRIMARY KEY,
    entity_id  INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    content    TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (entity_id, content)
);

CREATE TABLE relations (
    id            INTEGER PRIMARY KEY,
    namespace     TEXT NOT NULL DEFAULT 'default',
    from_id       INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    to_id         INTEGER NOT NULL REFERENCES entities (id) ON DELETE CASCADE,
    relation_type TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (from_id, to_id, relation_type)
);
CREATE INDEX relations_to ON relations (to_id);
CREATE INDEX relations_namespace ON relations (namespace);
