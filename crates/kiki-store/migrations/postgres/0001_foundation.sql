-- Foundation tables: the job queue, scheduler leases, instance metadata and
-- large event bodies. Keep in lockstep with ../sqlite/0001_foundation.sql
-- (the parity test compares tables, columns, nullability and type classes).
-- Column types follow src/schema.rs: UUID, TIMESTAMPTZ, JSONB, BIGINT,
-- DOUBLE PRECISION, TEXT.

CREATE TABLE jobs (
    id               UUID             NOT NULL PRIMARY KEY,
    org_id           UUID,
    kind             TEXT             NOT NULL,
    payload          JSONB            NOT NULL,
    status           TEXT             NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts         BIGINT           NOT NULL DEFAULT 0,
    max_attempts     BIGINT           NOT NULL,
    timeout_secs     BIGINT           NOT NULL,
    progress         DOUBLE PRECISION NOT NULL DEFAULT 0,
    progress_message TEXT,
    result           JSONB,
    last_error       TEXT,
    run_at           TIMESTAMPTZ      NOT NULL,
    locked_by        TEXT,
    locked_until     TIMESTAMPTZ,
    created_at       TIMESTAMPTZ      NOT NULL,
    updated_at       TIMESTAMPTZ      NOT NULL,
    finished_at      TIMESTAMPTZ
);

-- Workers look for due work by status and time.
CREATE INDEX jobs_status_run_at_idx ON jobs (status, run_at);
-- The jobs page of an organisation, newest first.
CREATE INDEX jobs_org_id_created_at_idx ON jobs (org_id, created_at);
-- Housekeeping deletes finished jobs by age.
CREATE INDEX jobs_finished_at_idx ON jobs (finished_at);

CREATE TABLE scheduler_leases (
    kind         TEXT        NOT NULL,
    period_start TIMESTAMPTZ NOT NULL,
    instance_id  TEXT        NOT NULL,
    job_id       UUID,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, period_start)
);

CREATE TABLE kv_meta (
    key        TEXT        NOT NULL PRIMARY KEY,
    value      TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE event_bodies (
    id         UUID        NOT NULL PRIMARY KEY,
    body       JSONB       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX event_bodies_created_at_idx ON event_bodies (created_at);
