-- SyncValue (kiki-ltv-service): uploaded transactions, fitted models
-- (versioned per organisation) and the per-customer predictions of each
-- organisation's current model.
-- Keep in lockstep with ../sqlite/0005_ltv.sql (the parity test checks).
-- Column types follow src/schema.rs.

-- One row per uploaded order. `dedup_key` (customer, timestamp, amount,
-- currency, order id) makes uploads idempotent: a row seen before is skipped.
CREATE TABLE ltv_transactions (
    id            UUID        NOT NULL PRIMARY KEY,
    org_id        UUID        NOT NULL,
    customer_id   TEXT        NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL,
    amount_micros BIGINT      NOT NULL,
    currency      TEXT        NOT NULL,
    order_id      TEXT,
    segment       TEXT,
    platform      TEXT,
    dedup_key     TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX ltv_transactions_org_id_dedup_key_idx ON ltv_transactions (org_id, dedup_key);
CREATE INDEX ltv_transactions_org_id_customer_id_idx ON ltv_transactions (org_id, customer_id);

-- A fitted purchase model (and its spend model) with its diagnostics.
-- `version` counts up per organisation; the highest is the current model.
CREATE TABLE ltv_models (
    id              UUID             NOT NULL PRIMARY KEY,
    org_id          UUID             NOT NULL,
    version         BIGINT           NOT NULL,
    kind            TEXT             NOT NULL,
    time_unit       TEXT             NOT NULL,
    currency        TEXT             NOT NULL,
    params          JSONB            NOT NULL,
    fitted          JSONB            NOT NULL,
    gamma_gamma     JSONB,
    holdout         JSONB,
    window_start    TIMESTAMPTZ      NOT NULL,
    window_end      TIMESTAMPTZ      NOT NULL,
    calibration_end TIMESTAMPTZ,
    customer_count  BIGINT           NOT NULL,
    horizon_days    BIGINT           NOT NULL,
    discount_rate   DOUBLE PRECISION NOT NULL,
    job_id          UUID,
    created_by      TEXT             NOT NULL,
    created_at      TIMESTAMPTZ      NOT NULL
);
CREATE UNIQUE INDEX ltv_models_org_id_version_idx ON ltv_models (org_id, version);

-- Per-customer summary and forecast under one model. Only the current
-- model's rows are kept: a refit replaces them in the same transaction.
CREATE TABLE ltv_predictions (
    model_id            UUID             NOT NULL REFERENCES ltv_models (id) ON DELETE CASCADE,
    org_id              UUID             NOT NULL,
    customer_id         TEXT             NOT NULL,
    frequency           DOUBLE PRECISION NOT NULL,
    recency             DOUBLE PRECISION NOT NULL,
    age                 DOUBLE PRECISION NOT NULL,
    monetary_micros     BIGINT           NOT NULL,
    expected_purchases  DOUBLE PRECISION NOT NULL,
    p_alive             DOUBLE PRECISION NOT NULL,
    churn_risk          DOUBLE PRECISION NOT NULL,
    expected_aov_micros BIGINT,
    clv_micros          BIGINT,
    currency            TEXT             NOT NULL,
    segment             TEXT,
    platform            TEXT,
    PRIMARY KEY (model_id, customer_id)
);
CREATE INDEX ltv_predictions_org_id_customer_id_idx ON ltv_predictions (org_id, customer_id);
CREATE INDEX ltv_predictions_model_id_clv_micros_idx ON ltv_predictions (model_id, clv_micros);
CREATE INDEX ltv_predictions_model_id_churn_risk_idx ON ltv_predictions (model_id, churn_risk);
