-- SyncTwin and AcquisitionAgent service: performance history, market models,
-- simulations and gate decisions, mirror reports, platform budgets and
-- rebalancing shifts. Every table is tenant-owned (org_id, indexed).
-- Keep in lockstep with ../postgres/0007_twin.sql (the parity test checks).
-- Column types follow src/schema.rs. No foreign key on org_id: records outlive
-- an organisation, as in 0003/0004.

-- Daily ad performance per platform (and optional ad set): the history the
-- market model is estimated from and the actuals the mirror and the
-- rebalancer read. `ad_set_id` is '' for a platform-level row, so the
-- upsert key (org, platform, ad set, day) has no NULL in it. `day` is an ISO
-- date (YYYY-MM-DD) in UTC.
CREATE TABLE twin_daily_performance (
    id             BLOB    NOT NULL PRIMARY KEY,
    org_id         BLOB    NOT NULL,
    platform       TEXT    NOT NULL,
    ad_set_id      TEXT    NOT NULL,
    day            TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    spend_micros   INTEGER NOT NULL,
    impressions    INTEGER NOT NULL,
    clicks         INTEGER NOT NULL,
    conversions    REAL    NOT NULL,
    revenue_micros INTEGER NOT NULL,
    updated_at     TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX twin_daily_performance_org_id_platform_ad_set_id_day_idx ON twin_daily_performance (org_id, platform, ad_set_id, day);
CREATE INDEX twin_daily_performance_org_id_day_idx ON twin_daily_performance (org_id, day);

-- Per-organisation overrides of the `[twin]` configuration; NULL = default.
CREATE TABLE twin_settings (
    org_id                    BLOB    NOT NULL,
    min_confidence            REAL,
    approval_threshold_micros INTEGER,
    industry                  TEXT,
    updated_by                TEXT,
    updated_at                TEXT    NOT NULL,
    PRIMARY KEY (org_id)
) STRICT;

-- Estimated market models, with the window of history they came from.
CREATE TABLE twin_market_models (
    id           BLOB    NOT NULL PRIMARY KEY,
    org_id       BLOB    NOT NULL,
    currency     TEXT    NOT NULL,
    industry     TEXT    NOT NULL,
    first_day    TEXT,
    last_day     TEXT,
    history_days INTEGER NOT NULL,
    model        TEXT    NOT NULL,
    created_at   TEXT    NOT NULL
) STRICT;
CREATE INDEX twin_market_models_org_id_created_at_idx ON twin_market_models (org_id, created_at);

-- Simulations of a plan: inputs, the evaluation (report), the gate's verdict and
-- the current launch approval (engine verdict or a user's override).
-- status: pending (queued job) | done | failed.
CREATE TABLE twin_simulations (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB    NOT NULL,
    status      TEXT    NOT NULL,
    plan        TEXT    NOT NULL,
    options     TEXT    NOT NULL,
    model_id    BLOB,
    report      TEXT,
    gate        TEXT,
    confidence  REAL,
    risk_level  TEXT,
    approved    INTEGER,
    approved_by TEXT,
    start_day   TEXT,
    job_id      BLOB,
    error       TEXT,
    created_by  TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    approved_at TEXT,
    CHECK (status IN ('pending', 'done', 'failed'))
) STRICT;
CREATE INDEX twin_simulations_org_id_created_at_idx ON twin_simulations (org_id, created_at);
CREATE INDEX twin_simulations_status_approved_idx ON twin_simulations (status, approved);

-- Every verdict on a simulation: the engine's gate, then any user override.
CREATE TABLE twin_gate_decisions (
    id              BLOB    NOT NULL PRIMARY KEY,
    org_id          BLOB    NOT NULL,
    simulation_id   BLOB    NOT NULL,
    approved        INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    decided_by_kind TEXT    NOT NULL,
    decided_by      TEXT,
    confidence      REAL,
    created_at      TEXT    NOT NULL,
    CHECK (decided_by_kind IN ('engine', 'user'))
) STRICT;
CREATE INDEX twin_gate_decisions_org_id_simulation_id_idx ON twin_gate_decisions (org_id, simulation_id);

-- The mirror's comparison of actuals with a launched simulation's projection,
-- one per simulation and period (day); the unique key makes a retry a no-op.
CREATE TABLE twin_mirror_reports (
    id                   BLOB    NOT NULL PRIMARY KEY,
    org_id               BLOB    NOT NULL,
    simulation_id        BLOB    NOT NULL,
    period_key           TEXT    NOT NULL,
    days_observed        INTEGER NOT NULL,
    rollback_recommended INTEGER NOT NULL,
    latest_deviation     REAL,
    report               TEXT    NOT NULL,
    created_at           TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX twin_mirror_reports_simulation_id_period_key_idx ON twin_mirror_reports (simulation_id, period_key);
CREATE INDEX twin_mirror_reports_org_id_created_at_idx ON twin_mirror_reports (org_id, created_at);

-- Current daily budget and bounds per platform: the rebalancer's input and
-- output until campaigns own budgets.
CREATE TABLE twin_budgets (
    org_id                  BLOB    NOT NULL,
    platform                TEXT    NOT NULL,
    currency                TEXT    NOT NULL,
    daily_budget_micros     INTEGER NOT NULL,
    min_daily_budget_micros INTEGER NOT NULL,
    max_daily_budget_micros INTEGER,
    updated_at              TEXT    NOT NULL,
    PRIMARY KEY (org_id, platform)
) STRICT;

-- One row per organisation and rebalancing period: written in the same
-- transaction as the period's shifts, so a retried run applies nothing twice.
CREATE TABLE twin_rebalance_runs (
    org_id     BLOB    NOT NULL,
    period_key TEXT    NOT NULL,
    shifts     INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (org_id, period_key)
) STRICT;

-- Budget shifts the rebalancer decided. status: applied | pending_approval |
-- approved | rejected.
CREATE TABLE twin_rebalancing_shifts (
    id                          BLOB    NOT NULL PRIMARY KEY,
    org_id                      BLOB    NOT NULL,
    period_key                  TEXT    NOT NULL,
    currency                    TEXT    NOT NULL,
    from_platform               TEXT    NOT NULL,
    to_platform                 TEXT    NOT NULL,
    amount_micros               INTEGER NOT NULL,
    from_budget_before_micros   INTEGER NOT NULL,
    from_budget_after_micros    INTEGER NOT NULL,
    to_budget_before_micros     INTEGER NOT NULL,
    to_budget_after_micros      INTEGER NOT NULL,
    from_efficiency             REAL    NOT NULL,
    to_efficiency               REAL    NOT NULL,
    average_efficiency          REAL    NOT NULL,
    portfolio_efficiency_before REAL    NOT NULL,
    portfolio_efficiency_after  REAL    NOT NULL,
    explanation                 TEXT    NOT NULL,
    status                      TEXT    NOT NULL,
    decided_by                  TEXT,
    decision_reason             TEXT,
    created_at                  TEXT    NOT NULL,
    decided_at                  TEXT,
    CHECK (status IN ('applied', 'pending_approval', 'approved', 'rejected'))
) STRICT;
CREATE INDEX twin_rebalancing_shifts_org_id_created_at_idx ON twin_rebalancing_shifts (org_id, created_at);
CREATE INDEX twin_rebalancing_shifts_org_id_status_idx ON twin_rebalancing_shifts (org_id, status);
