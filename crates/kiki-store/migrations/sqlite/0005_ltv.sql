-- SyncValue (kiki-ltv-service): uploaded transactions, fitted models
-- (versioned per organisation) and the per-customer predictions of each
-- organisation's current model.
-- Keep in lockstep with ../postgres/0005_ltv.sql (the parity test checks).
-- Column types follow src/schema.rs.

-- One row per uploaded order. `dedup_key` (customer, timestamp, amount,
-- currency, order id) makes uploads idempotent: a row seen before is skipped.
CREATE TABLE ltv_transactions (
    id            BLOB    NOT NULL PRIMARY KEY,
    org_id        BLOB    NOT NULL,
    customer_id   TEXT    NOT NULL,
    occurred_at   TEXT    NOT NULL,
    amount_micros INTEGER NOT NULL,
    currency      TEXT    NOT NULL,
    order_id      TEXT,
    segment       TEXT,
    platform      TEXT,
    dedup_key     TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX ltv_transactions_org_id_dedup_key_idx ON ltv_transactions (org_id, dedup_key);
CREATE INDEX ltv_transactions_org_id_customer_id_idx ON ltv_transactions (org_id, customer_id);

-- A fitted purchase model (and its spend model) with its diagnostics.
-- `version` counts up per organisation; the highest is the current model.
CREATE TABLE ltv_models (
    id              BLOB    NOT NULL PRIMARY KEY,
    org_id          BLOB    NOT NULL,
    version         INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    time_unit       TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    params          TEXT    NOT NULL,
    fitted          TEXT    NOT NULL,
    gamma_gamma     TEXT,
    holdout         TEXT,
    window_start    TEXT    NOT NULL,
    window_end      TEXT    NOT NULL,
    calibration_end TEXT,
    customer_count  INTEGER NOT NULL,
    horizon_days    INTEGER NOT NULL,
    discount_rate   REAL    NOT NULL,
    job_id          BLOB,
    created_by      TEXT    NOT NULL,
    created_at      TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX ltv_models_org_id_version_idx ON ltv_models (org_id, version);

-- Per-customer summary and forecast under one model. Only the current
-- model's rows are kept: a refit replaces them in the same transaction.
CREATE TABLE ltv_predictions (
    model_id            BLOB    NOT NULL REFERENCES ltv_models (id) ON DELETE CASCADE,
    org_id              BLOB    NOT NULL,
    customer_id         TEXT    NOT NULL,
    frequency           REAL    NOT NULL,
    recency             REAL    NOT NULL,
    age                 REAL    NOT NULL,
    monetary_micros     INTEGER NOT NULL,
    expected_purchases  REAL    NOT NULL,
    p_alive             REAL    NOT NULL,
    churn_risk          REAL    NOT NULL,
    expected_aov_micros INTEGER,
    clv_micros          INTEGER,
    currency            TEXT    NOT NULL,
    segment             TEXT,
    platform            TEXT,
    PRIMARY KEY (model_id, customer_id)
) STRICT;
CREATE INDEX ltv_predictions_org_id_customer_id_idx ON ltv_predictions (org_id, customer_id);
CREATE INDEX ltv_predictions_model_id_clv_micros_idx ON ltv_predictions (model_id, clv_micros);
CREATE INDEX ltv_predictions_model_id_churn_risk_idx ON ltv_predictions (model_id, churn_risk);
