-- Removes what 006 added, nothing else: incidents keep every row and every 003 column.
DROP TABLE drills;
DROP TABLE notifications;
DROP TABLE approvals;
DROP TABLE approval_requests;
DROP TABLE approvers;
DROP TABLE incident_notes;
DROP INDEX incidents_open;
ALTER TABLE incidents DROP COLUMN details;
ALTER TABLE incidents DROP COLUMN checklist;
ALTER TABLE incidents DROP COLUMN backup_location;
ALTER TABLE incidents DROP COLUMN downtime_seconds;
ALTER TABLE incidents DROP COLUMN opened_by;
ALTER TABLE incidents DROP COLUMN status;
ALTER TABLE incidents DROP COLUMN title;
ALTER TABLE incidents DROP COLUMN severity;
DROP TABLE rollout_events;
DROP TABLE rollouts;
DROP TABLE alert_events;
