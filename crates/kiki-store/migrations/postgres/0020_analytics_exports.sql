-- Analytics exports run as jobs: one row per requested file, tenant-owned.
-- Keep in lockstep with ../sqlite/0020_analytics_exports.sql (the parity test checks).

-- report is timeseries | breakdown | performers | drilldown; format is
-- csv | xlsx | pdf; query is the request's query (JSON) with its days
-- resolved when it was queued, and the organisations the requester could
-- read then (the job reads exactly those). job_id is the `analytics.export`
-- job that writes the file. The finished file is kept here, base64-encoded
-- (content), until expires_at; after that the row says the link expired
-- and the content is dropped.
CREATE TABLE analytics_exports (
    id           UUID        NOT NULL PRIMARY KEY,
    org_id       UUID        NOT NULL,
    job_id       UUID        NOT NULL,
    report       TEXT        NOT NULL,
    format       TEXT        NOT NULL,
    query        TEXT        NOT NULL,
    requested_by TEXT        NOT NULL,
    file_name    TEXT,
    media_type   TEXT,
    content      TEXT,
    size_bytes   BIGINT,
    row_count    BIGINT,
    created_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ
);
-- An organisation's exports, newest first; the expired ones to drop.
CREATE INDEX analytics_exports_org_id_created_at_idx ON analytics_exports (org_id, created_at);
CREATE INDEX analytics_exports_org_id_expires_at_idx ON analytics_exports (org_id, expires_at);
