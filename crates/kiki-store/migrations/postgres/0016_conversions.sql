-- Conversion tracking: orders reported by the advertiser's server
-- (`POST /v1/conversions`) or by the order-confirmation snippet, each
-- attributed to the signed click id the bidder's click tracker appended to
-- the landing page; the organisation's conversion credentials; and, in the
-- bidder's tables, the conversion counts that feed pCVR.
-- Keep in lockstep with ../sqlite/0016_conversions.sql (the parity test checks).

-- One row per order of an organisation (order ids are unique per
-- organisation: a repeat is answered with the first row, never counted
-- twice). The click's attribution is copied from the click id when the
-- conversion is recorded. value: micros of `currency`. occurred_day is the
-- UTC date of occurred_at (the daily summary). source: api_key | signature
-- | site. recorded_by: `user:<id>`, `api_key:<id>`, `signature:<key id>` or
-- `site`.
CREATE TABLE conversions (
    id            UUID        NOT NULL PRIMARY KEY,
    org_id        UUID        NOT NULL,
    order_id      TEXT        NOT NULL,
    click_id      TEXT        NOT NULL,
    campaign_id   UUID        NOT NULL,
    line_item_id  UUID        NOT NULL,
    creative_id   TEXT        NOT NULL,
    bid_id        TEXT        NOT NULL,
    clicked_at    TIMESTAMPTZ NOT NULL,
    value_micros  BIGINT      NOT NULL,
    currency      TEXT        NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL,
    occurred_day  TEXT        NOT NULL,
    customer_id   TEXT,
    source        TEXT        NOT NULL,
    recorded_by   TEXT        NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX conversions_org_id_order_id_idx ON conversions (org_id, order_id);
CREATE INDEX conversions_org_id_occurred_at_idx ON conversions (org_id, occurred_at);
CREATE INDEX conversions_org_id_campaign_id_occurred_day_idx ON conversions (org_id, campaign_id, occurred_day);

-- An organisation's conversion credentials. The signing secret
-- (`X-Kiki-Signature`) is field-encrypted (`secret`, `previous_secret`;
-- registered for key rotation) and shown once; `secret_id` is its public
-- name in the header. After a rotation the previous secret still verifies
-- until previous_expires_at. The site key is public (the browser snippet
-- sends it) and records conversions of the organisation's own click ids
-- only, from allowed_origins (JSON array of origins).
CREATE TABLE conversion_keys (
    org_id              UUID        NOT NULL PRIMARY KEY,
    secret_id           TEXT,
    secret              TEXT,
    secret_created_at   TIMESTAMPTZ,
    previous_secret_id  TEXT,
    previous_secret     TEXT,
    previous_expires_at TIMESTAMPTZ,
    site_key            TEXT,
    allowed_origins     JSONB       NOT NULL,
    site_key_created_at TIMESTAMPTZ,
    updated_by          TEXT        NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX conversion_keys_secret_id_idx ON conversion_keys (secret_id);
CREATE UNIQUE INDEX conversion_keys_previous_secret_id_idx ON conversion_keys (previous_secret_id);
CREATE UNIQUE INDEX conversion_keys_site_key_idx ON conversion_keys (site_key);

-- The bidder's side (kiki-bidder-service): conversions credited to a line
-- item in all (pCVR's input, loaded by every replica) and per hour.
ALTER TABLE bidder_line_items ADD COLUMN conversions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE bidder_hourly_stats ADD COLUMN conversions BIGINT NOT NULL DEFAULT 0;
