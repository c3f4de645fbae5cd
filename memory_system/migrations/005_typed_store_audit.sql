-- Who writes the typed stores (issue 9): user preferences and code patterns are shared by
-- every agent of a namespace, and preferences open every injected prompt, so each change is
-- recorded with the agent that made it, and each key knows who created it (what the
-- "creator" write policy checks). rollback/005_rollback.sql removes exactly these objects.

-- NULL creator: the row was written before this migration (or by a release without it),
-- and who created it is unknown.
ALTER TABLE user_preferences ADD COLUMN created_by TEXT;
ALTER TABLE user_preferences ADD COLUMN updated_by TEXT;
ALTER TABLE code_patterns ADD COLUMN created_by TEXT;
ALTER TABLE code_patterns ADD COLUMN updated_by TEXT;
-- A code pattern's agent_id has always been its last writer; one never updated since it was
-- created (created_at = updated_at) was last written by its creator.
UPDATE code_patterns SET updated_by = agent_id,
                         created_by = CASE WHEN created_at = updated_at THEN agent_id END;

-- The audit trail: every write and delete of a typed store, applied or refused by the write
-- policy, in the transaction of the change. Values are kept as sha256 hashes only: the trail
-- says who changed what and whether two versions differ, and keeps no copy of a deleted value.
CREATE TABLE typed_store_events (
    id         INTEGER PRIMARY KEY,
    namespace  TEXT NOT NULL,
    store      TEXT NOT NULL CHECK (store IN ('preference', 'code_pattern')),
    action     TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    outcome    TEXT NOT NULL CHECK (outcome IN ('applied', 'refused')),
    agent_id   TEXT NOT NULL,  -- who made (or attempted) the change
    user_id    TEXT,           -- preference: whose it is; NULL for code patterns
    key        TEXT NOT NULL,  -- preference: its key; code pattern: its name
    language   TEXT,           -- code pattern: its language; NULL for preferences
    pattern_id INTEGER,        -- no foreign key: the trail outlives the pattern; NULL: a refused create
    old_hash   TEXT,           -- sha256 of the value before; NULL: there was none
    new_hash   TEXT,           -- sha256 of the value written (or refused); NULL for a delete
    policy     TEXT,           -- the write policy that refused it ('creator', 'listed'); NULL when applied
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX typed_store_events_namespace ON typed_store_events (namespace, id);
CREATE INDEX typed_store_events_preference ON typed_store_events (namespace, user_id, key, id)
    WHERE store = 'preference';
CREATE INDEX typed_store_events_pattern ON typed_store_events (namespace, pattern_id, id)
    WHERE pattern_id IS NOT NULL;
