-- Removes the typed-store audit trail and the created_by / updated_by columns, nothing else:
-- every preference and code pattern stays (code patterns keep agent_id, their last writer).
DROP TABLE typed_store_events;
ALTER TABLE code_patterns DROP COLUMN updated_by;
ALTER TABLE code_patterns DROP COLUMN created_by;
ALTER TABLE user_preferences DROP COLUMN updated_by;
ALTER TABLE user_preferences DROP COLUMN created_by;
