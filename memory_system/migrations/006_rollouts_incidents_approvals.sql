-- The second operational migration: what the safety net and the people side of the runbook
-- record (issues 10 and 12). Like 001-003 it is not a Phase 2-4 migration: it references
-- nothing that 004 or 005 create, so runbook option C (which rolls back 005 and 004) leaves it
-- applied, and every row here survives a database rollback: the rollback's own incident,
-- approvals and notices are written here while it runs.

-- Every fire and resolve of an alert rule, by the instance that evaluated it.
CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY,
    rule       TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('WARNING', 'CRITICAL')),
    event      TEXT NOT NULL CHECK (event IN ('fired', 'resolved')),
    value      REAL,
    threshold  REAL,
    flags      TEXT NOT NULL DEFAULT '[]',  -- JSON: the flags the rule is tied to
    message    TEXT NOT NULL DEFAULT '',
    instance   TEXT NOT NULL DEFAULT '',    -- host:pid that saw it
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX alert_events_time ON alert_events (created_at);

-- A flag's progressive rollout: 1% -> ... -> 100%, each step held, aborted by the guard.
-- At most one rollout per flag is running or paused (the partial unique index).
CREATE TABLE rollouts (
    id              INTEGER PRIMARY KEY,
    flag            TEXT NOT NULL,
    steps           TEXT NOT NULL,              -- JSON list of values in (0, 1], rising
    hold_seconds    REAL NOT NULL CHECK (hold_seconds >= 0),
    step_index      INTEGER NOT NULL DEFAULT 0, -- the step in force (or last in force)
    state           TEXT NOT NULL CHECK (state IN ('running', 'paused', 'completed', 'aborted')),
    started_by      TEXT NOT NULL,
    reason          TEXT NOT NULL DEFAULT '',   -- why it was paused or aborted
    step_started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    started_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at        TEXT,
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX rollouts_one_active ON rollouts (flag) WHERE state IN ('running', 'paused');

CREATE TABLE rollout_events (
    id         INTEGER PRIMARY KEY,
    rollout_id INTEGER NOT NULL REFERENCES rollouts (id),
    event      TEXT NOT NULL CHECK (event IN ('started', 'advanced', 'paused', 'resumed', 'completed', 'aborted')),
    step_index INTEGER NOT NULL,
    value      REAL NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX rollout_events_rollout ON rollout_events (rollout_id);

-- Incidents (table from 003) get what the runbook's incident log asks for.
ALTER TABLE incidents ADD COLUMN severity TEXT NOT NULL DEFAULT 'SEV2';
ALTER TABLE incidents ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE incidents ADD COLUMN opened_by TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN downtime_seconds REAL;
ALTER TABLE incidents ADD COLUMN backup_location TEXT;
ALTER TABLE incidents ADD COLUMN checklist TEXT NOT NULL DEFAULT '[]';  -- JSON: [{check, ok, detail}]
ALTER TABLE incidents ADD COLUMN details TEXT NOT NULL DEFAULT '{}';    -- JSON: option, rule, rollback id...
-- Rows written before: an ended incident is closed.
UPDATE incidents SET status = 'closed' WHERE ended_at IS NOT NULL;
CREATE INDEX incidents_open ON incidents (status, started_at);

CREATE TABLE incident_notes (
    id          INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX incident_notes_incident ON incident_notes (incident_id);

-- Approver identities: a credential per person and role, kept as a sha256 hash like agent tokens.
CREATE TABLE approvers (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('manager', 'dba')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at TEXT
);

-- A rollback waiting for approvals; ``details`` holds the runbook's approval template, filled in.
CREATE TABLE approval_requests (
    id           INTEGER PRIMARY KEY,
    action       TEXT NOT NULL,                  -- e.g. 'rollback_c'
    reason       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'used', 'cancelled', 'expired')),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);

CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES approval_requests (id),
    approver_id INTEGER NOT NULL REFERENCES approvers (id),
    role        TEXT NOT NULL CHECK (role IN ('manager', 'dba')),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (request_id, approver_id),
    UNIQUE (request_id, role)
);

-- Notices (Slack-compatible webhook, email) in an outbox: a rollback writes one and goes on;
-- delivery is retried in the background, so a failing relay never blocks or slows it.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    template        TEXT NOT NULL,
    recipients      TEXT NOT NULL DEFAULT '[]',  -- JSON: email addresses; [] for the webhook
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    incident_id     INTEGER REFERENCES incidents (id),
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    sent_at         TEXT
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);

-- Rollback drills (runbook section 7), against scratch copies; the report files sit beside.
CREATE TABLE drills (
    id               INTEGER PRIMARY KEY,
    option           TEXT NOT NULL CHECK (option IN ('a', 'b', 'c')),
    outcome          TEXT NOT NULL CHECK (outcome IN ('passed', 'failed')),
    started_at       TEXT NOT NULL,
    ended_at         TEXT NOT NULL,
    duration_seconds REAL NOT NULL,
    report_path      TEXT,
    summary          TEXT NOT NULL DEFAULT '{}',  -- JSON: steps with times, checks, failures
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX drills_option ON drills (option, started_at);
