-- Removes every Phase 2-4 object and nothing else: Phase 1 and operational tables stay.
DROP TABLE memory_metadata;
DROP TABLE session_handoffs;
DROP TABLE session_state;
DROP TRIGGER code_patterns_fts_update;
DROP TRIGGER code_patterns_fts_delete;
DROP TRIGGER code_patterns_fts_insert;
DROP TABLE code_patterns_fts;
DROP TABLE code_patterns;
DROP TABLE user_preferences;
DROP TABLE share_events;
DROP TABLE memory_shares;
DROP TABLE memory_embeddings;
DROP TRIGGER memories_fts_update;
DROP TRIGGER memories_fts_delete;
DROP TRIGGER memories_fts_insert;
DROP TABLE memories_fts;
DROP TABLE memories;
DELETE FROM sqlite_sequence WHERE name = 'memories';
