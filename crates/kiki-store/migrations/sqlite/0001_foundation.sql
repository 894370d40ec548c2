-- Foundation tables: the job queue, scheduler leases, instance metadata and
-- large event bodies. Keep in lockstep with ../postgres/0001_foundation.sql
-- (the parity test compares tables, columns, nullability and type classes).
-- Column types follow src/schema.rs: UUID = BLOB, timestamps = TEXT
-- (fixed-width UTC, written by the Rust helpers), JSON = TEXT, integers =
-- INTEGER, reals = REAL. STRICT makes SQLite reject a value of the wrong type.

CREATE TABLE jobs (
    id               BLOB    NOT NULL PRIMARY KEY,
    org_id           BLOB,
    kind             TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    timeout_secs     INTEGER NOT NULL,
    progress         REAL    NOT NULL DEFAULT 0,
    progress_message TEXT,
    result           TEXT,
    last_error       TEXT,
    run_at           TEXT    NOT NULL,
    locked_by        TEXT,
    locked_until     TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    finished_at      TEXT
) STRICT;

-- Workers look for due work by status and time.
CREATE INDEX jobs_status_run_at_idx ON jobs (status, run_at);
-- The jobs page of an organisation, newest first.
CREATE INDEX jobs_org_id_created_at_idx ON jobs (org_id, created_at);
-- Housekeeping deletes finished jobs by age.
CREATE INDEX jobs_finished_at_idx ON jobs (finished_at);

CREATE TABLE scheduler_leases (
    kind         TEXT NOT NULL,
    period_start TEXT NOT NULL,
    instance_id  TEXT NOT NULL,
    job_id       BLOB,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (kind, period_start)
) STRICT;

CREATE TABLE kv_meta (
    key        TEXT NOT NULL PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE event_bodies (
    id         BLOB NOT NULL PRIMARY KEY,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX event_bodies_created_at_idx ON event_bodies (created_at);
