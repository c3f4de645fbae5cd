-- Operational state that must survive any rollback: runtime feature-flag values and
-- their audit trail, incidents, and the record of every database rollback.
CREATE TABLE feature_flag_state (
    flag       TEXT PRIMARY KEY,
    value      REAL NOT NULL CHECK (value >= 0 AND value <= 1),
    actor      TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE feature_flag_events (
    id         INTEGER PRIMARY KEY,
    flag       TEXT NOT NULL,
    old_value  REAL,
    new_value  REAL,
    source     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX feature_flag_events_time ON feature_flag_events (created_at);

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY,
    incident_type     TEXT NOT NULL,
    flags             TEXT NOT NULL DEFAULT '[]',
    reason            TEXT NOT NULL DEFAULT '',
    started_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ended_at          TEXT,
    sessions_affected INTEGER,
    data_loss         TEXT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE rollback_records (
    id           INTEGER PRIMARY KEY,
    migration    INTEGER NOT NULL,
    backup_path  TEXT,
    approved_by  TEXT NOT NULL DEFAULT '[]',
    emergency    INTEGER NOT NULL DEFAULT 0,
    rows_lost    TEXT NOT NULL DEFAULT '{}',
    details      TEXT NOT NULL DEFAULT '{}',  -- JSON: backup checksum, verification results
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Who this database is: a random id made once, recorded in every backup manifest, so that
-- rollback and restore can refuse a backup of some other database.
CREATE TABLE database_info (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO database_info (key, value) VALUES ('database_id', lower(hex(randomblob(16))));

-- One row the deep health check rewrites to prove the database takes writes, touching no
-- user data.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL,
    pid        INTEGER NOT NULL
);
