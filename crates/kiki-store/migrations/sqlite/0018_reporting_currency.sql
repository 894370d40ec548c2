-- An organisation's reporting currency (kiki-identity), the currency of the
-- twin's approval threshold (kiki-twin-service), and staged LTV uploads
-- (kiki-ltv-service). Keep in lockstep with ../postgres/0018_reporting_currency.sql
-- (the parity test checks).

-- The currency an organisation's own thresholds and caps are stated in
-- (ISO 4217). Organisations that existed before it were USD-first, so they
-- start in USD; `PATCH /v1/organisations/{id}` changes it.
ALTER TABLE organisations ADD COLUMN reporting_currency TEXT NOT NULL DEFAULT 'USD';

-- The currency of `twin_settings.approval_threshold_micros`. NULL on rows
-- saved before it: the organisation's reporting currency.
ALTER TABLE twin_settings ADD COLUMN currency TEXT;

-- LTV (kiki-ltv-service): a large upload is stored in short transactions
-- while it is `receiving`; its rows are read only once one last short
-- transaction marks it `complete`. Uploads stored before were complete.
ALTER TABLE ltv_uploads ADD COLUMN status TEXT NOT NULL DEFAULT 'complete'
    CHECK (status IN ('receiving', 'complete'));
