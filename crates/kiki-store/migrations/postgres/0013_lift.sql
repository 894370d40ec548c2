-- Incrementality experiments: the experiment with its plan (frozen with a
-- content hash at registration), the KPI panels uploaded for it (append-only:
-- an analysis names the panel it ran on), the stored analyses with the hash of
-- their inputs and of their result, and market-selection / power designs run
-- as jobs. Every table is tenant-owned (org_id, indexed).
-- Keep in lockstep with ../sqlite/0013_lift.sql (the parity test checks).

-- status: draft | registered | running | analysed. plan: JSON
-- (`kiki_lift_service::LiftPlan`); plan_hash and pre_period_hash are set at
-- registration and never change after. `version` grows with every change.
CREATE TABLE lift_experiments (
    id              UUID    NOT NULL PRIMARY KEY,
    org_id          UUID    NOT NULL,
    name            TEXT    NOT NULL,
    description     TEXT,
    status          TEXT    NOT NULL,
    plan            JSONB   NOT NULL,
    plan_hash       TEXT,
    pre_period_hash TEXT,
    version         BIGINT  NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at      TIMESTAMPTZ    NOT NULL,
    updated_at      TIMESTAMPTZ    NOT NULL,
    registered_by   TEXT,
    registered_at   TIMESTAMPTZ,
    started_at      TIMESTAMPTZ,
    analysed_at     TIMESTAMPTZ
);
CREATE INDEX lift_experiments_org_id_created_at_idx ON lift_experiments (org_id, created_at);

-- A daily KPI panel (unit × day): source `upload` now; commerce orders and
-- platform spend later. data: JSON (`kiki_lift::PanelData`).
CREATE TABLE lift_panels (
    id            UUID    NOT NULL PRIMARY KEY,
    org_id        UUID    NOT NULL,
    experiment_id UUID    NOT NULL,
    source        TEXT    NOT NULL,
    units         BIGINT  NOT NULL,
    periods       BIGINT  NOT NULL,
    first_period  TEXT    NOT NULL,
    last_period   TEXT    NOT NULL,
    data          JSONB   NOT NULL,
    panel_hash    TEXT    NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    TIMESTAMPTZ    NOT NULL
);
CREATE INDEX lift_panels_org_id_experiment_id_idx ON lift_panels (org_id, experiment_id, created_at);

-- One analysis as registered: the panel it ran on, the hashes of the plan, the
-- panel, the inputs together and the result, the engine version, the result
-- (JSON, `kiki_lift::GeoAnalysis`).
CREATE TABLE lift_analyses (
    id             UUID    NOT NULL PRIMARY KEY,
    org_id         UUID    NOT NULL,
    experiment_id  UUID    NOT NULL,
    panel_id       UUID    NOT NULL,
    plan_hash      TEXT    NOT NULL,
    panel_hash     TEXT    NOT NULL,
    inputs_hash    TEXT    NOT NULL,
    result_hash    TEXT    NOT NULL,
    engine_version TEXT    NOT NULL,
    result         JSONB   NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     TIMESTAMPTZ    NOT NULL
);
CREATE INDEX lift_analyses_org_id_experiment_id_idx ON lift_analyses (org_id, experiment_id, created_at);

-- A design before spend (market selection or a power analysis), run by the
-- `lift.design` job. status: queued | completed | failed. request and report: JSON.
CREATE TABLE lift_designs (
    id            UUID    NOT NULL PRIMARY KEY,
    org_id        UUID    NOT NULL,
    experiment_id UUID    NOT NULL,
    panel_id      UUID    NOT NULL,
    request       JSONB   NOT NULL,
    status        TEXT    NOT NULL,
    report        JSONB,
    error         TEXT,
    job_id        UUID,
    created_by    TEXT    NOT NULL,
    created_at    TIMESTAMPTZ    NOT NULL,
    completed_at  TIMESTAMPTZ
);
CREATE INDEX lift_designs_org_id_experiment_id_idx ON lift_designs (org_id, experiment_id, created_at);
