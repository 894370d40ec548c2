-- SyncTwin and AcquisitionAgent service: performance history, market models,
-- simulations and gate decisions, mirror reports, platform budgets and
-- rebalancing shifts. Every table is tenant-owned (org_id, indexed).
-- Keep in lockstep with ../sqlite/0007_twin.sql (the parity test checks).
-- Column types follow src/schema.rs. No foreign key on org_id: records outlive
-- an organisation, as in 0003/0004.

-- Daily ad performance per platform (and optional ad set): the history the
-- market model is estimated from and the actuals the mirror and the
-- rebalancer read. `ad_set_id` is '' for a platform-level row, so the
-- upsert key (org, platform, ad set, day) has no NULL in it. `day` is an ISO
-- date (YYYY-MM-DD) in UTC.
CREATE TABLE twin_daily_performance (
    id             UUID             NOT NULL PRIMARY KEY,
    org_id         UUID             NOT NULL,
    platform       TEXT             NOT NULL,
    ad_set_id      TEXT             NOT NULL,
    day            TEXT             NOT NULL,
    currency       TEXT             NOT NULL,
    spend_micros   BIGINT           NOT NULL,
    impressions    BIGINT           NOT NULL,
    clicks         BIGINT           NOT NULL,
    conversions    DOUBLE PRECISION NOT NULL,
    revenue_micros BIGINT           NOT NULL,
    updated_at     TIMESTAMPTZ      NOT NULL
);
CREATE UNIQUE INDEX twin_daily_performance_org_id_platform_ad_set_id_day_idx ON twin_daily_performance (org_id, platform, ad_set_id, day);
CREATE INDEX twin_daily_performance_org_id_day_idx ON twin_daily_performance (org_id, day);

-- Per-organisation overrides of the `[twin]` configuration; NULL = default.
CREATE TABLE twin_settings (
    org_id                    UUID             NOT NULL,
    min_confidence            DOUBLE PRECISION,
    approval_threshold_micros BIGINT,
    industry                  TEXT,
    updated_by                TEXT,
    updated_at                TIMESTAMPTZ      NOT NULL,
    PRIMARY KEY (org_id)
);

-- Estimated market models, with the window of history they came from.
CREATE TABLE twin_market_models (
    id           UUID        NOT NULL PRIMARY KEY,
    org_id       UUID        NOT NULL,
    currency     TEXT        NOT NULL,
    industry     TEXT        NOT NULL,
    first_day    TEXT,
    last_day     TEXT,
    history_days BIGINT      NOT NULL,
    model        JSONB       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX twin_market_models_org_id_created_at_idx ON twin_market_models (org_id, created_at);

-- Simulations of a plan: inputs, the evaluation (report), the gate's verdict and
-- the current launch approval (engine verdict or a user's override).
-- status: pending (queued job) | done | failed.
CREATE TABLE twin_simulations (
    id          UUID             NOT NULL PRIMARY KEY,
    org_id      UUID             NOT NULL,
    status      TEXT             NOT NULL,
    plan        JSONB            NOT NULL,
    options     JSONB            NOT NULL,
    model_id    UUID,
    report      JSONB,
    gate        JSONB,
    confidence  DOUBLE PRECISION,
    risk_level  TEXT,
    approved    BOOLEAN,
    approved_by TEXT,
    start_day   TEXT,
    job_id      UUID,
    error       TEXT,
    created_by  TEXT,
    created_at  TIMESTAMPTZ      NOT NULL,
    updated_at  TIMESTAMPTZ      NOT NULL,
    approved_at TIMESTAMPTZ,
    CHECK (status IN ('pending', 'done', 'failed'))
);
CREATE INDEX twin_simulations_org_id_created_at_idx ON twin_simulations (org_id, created_at);
CREATE INDEX twin_simulations_status_approved_idx ON twin_simulations (status, approved);

-- Every verdict on a simulation: the engine's gate, then any user override.
CREATE TABLE twin_gate_decisions (
    id              UUID             NOT NULL PRIMARY KEY,
    org_id          UUID             NOT NULL,
    simulation_id   UUID             NOT NULL,
    approved        BOOLEAN          NOT NULL,
    reason          TEXT             NOT NULL,
    decided_by_kind TEXT             NOT NULL,
    decided_by      TEXT,
    confidence      DOUBLE PRECISION,
    created_at      TIMESTAMPTZ      NOT NULL,
    CHECK (decided_by_kind IN ('engine', 'user'))
);
CREATE INDEX twin_gate_decisions_org_id_simulation_id_idx ON twin_gate_decisions (org_id, simulation_id);

-- The mirror's comparison of actuals with a launched simulation's projection,
-- one per simulation and period (day); the unique key makes a retry a no-op.
CREATE TABLE twin_mirror_reports (
    id                   UUID             NOT NULL PRIMARY KEY,
    org_id               UUID             NOT NULL,
    simulation_id        UUID             NOT NULL,
    period_key           TEXT             NOT NULL,
    days_observed        BIGINT           NOT NULL,
    rollback_recommended BOOLEAN          NOT NULL,
    latest_deviation     DOUBLE PRECISION,
    report               JSONB            NOT NULL,
    created_at           TIMESTAMPTZ      NOT NULL
);
CREATE UNIQUE INDEX twin_mirror_reports_simulation_id_period_key_idx ON twin_mirror_reports (simulation_id, period_key);
CREATE INDEX twin_mirror_reports_org_id_created_at_idx ON twin_mirror_reports (org_id, created_at);

-- Current daily budget and bounds per platform: the rebalancer's input and
-- output until campaigns own budgets.
CREATE TABLE twin_budgets (
    org_id                  UUID        NOT NULL,
    platform                TEXT        NOT NULL,
    currency                TEXT        NOT NULL,
    daily_budget_micros     BIGINT      NOT NULL,
    min_daily_budget_micros BIGINT      NOT NULL,
    max_daily_budget_micros BIGINT,
    updated_at              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, platform)
);

-- One row per organisation and rebalancing period: written in the same
-- transaction as the period's shifts, so a retried run applies nothing twice.
CREATE TABLE twin_rebalance_runs (
    org_id     UUID        NOT NULL,
    period_key TEXT        NOT NULL,
    shifts     BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, period_key)
);

-- Budget shifts the rebalancer decided. status: applied | pending_approval |
-- approved | rejected.
CREATE TABLE twin_rebalancing_shifts (
    id                          UUID             NOT NULL PRIMARY KEY,
    org_id                      UUID             NOT NULL,
    period_key                  TEXT             NOT NULL,
    currency                    TEXT             NOT NULL,
    from_platform               TEXT             NOT NULL,
    to_platform                 TEXT             NOT NULL,
    amount_micros               BIGINT           NOT NULL,
    from_budget_before_micros   BIGINT           NOT NULL,
    from_budget_after_micros    BIGINT           NOT NULL,
    to_budget_before_micros     BIGINT           NOT NULL,
    to_budget_after_micros      BIGINT           NOT NULL,
    from_efficiency             DOUBLE PRECISION NOT NULL,
    to_efficiency               DOUBLE PRECISION NOT NULL,
    average_efficiency          DOUBLE PRECISION NOT NULL,
    portfolio_efficiency_before DOUBLE PRECISION NOT NULL,
    portfolio_efficiency_after  DOUBLE PRECISION NOT NULL,
    explanation                 TEXT             NOT NULL,
    status                      TEXT             NOT NULL,
    decided_by                  TEXT,
    decision_reason             TEXT,
    created_at                  TIMESTAMPTZ      NOT NULL,
    decided_at                  TIMESTAMPTZ,
    CHECK (status IN ('applied', 'pending_approval', 'approved', 'rejected'))
);
CREATE INDEX twin_rebalancing_shifts_org_id_created_at_idx ON twin_rebalancing_shifts (org_id, created_at);
CREATE INDEX twin_rebalancing_shifts_org_id_status_idx ON twin_rebalancing_shifts (org_id, status);
