-- Campaigns on their channels: each ad set's deployment (where it runs, its id
-- there, the last sync and its error), the rebalancer's shifts applied to ad
-- sets, where a twin platform budget comes from, and an organisation's own
-- language model. Keep in lockstep with ../postgres/0012_campaign_channels.sql.

-- deployment_status: not_deployed | live | paused | archived | failed | not_connected.
-- external_id: the ad set's id on its channel (the bidder line item for KIKI
-- programmatic). deployment_note: what the channel could not apply.
ALTER TABLE campaign_ad_sets ADD COLUMN deployment_status TEXT NOT NULL DEFAULT 'not_deployed';
ALTER TABLE campaign_ad_sets ADD COLUMN external_id TEXT;
ALTER TABLE campaign_ad_sets ADD COLUMN last_synced_at TEXT;
ALTER TABLE campaign_ad_sets ADD COLUMN last_error TEXT;
ALTER TABLE campaign_ad_sets ADD COLUMN deployment_note TEXT;

-- One row per twin budget shift the campaigns applied to their ad sets:
-- how much of it found ad sets, and which campaigns changed (JSON list).
CREATE TABLE campaign_budget_moves (
    shift_id       BLOB    NOT NULL PRIMARY KEY,
    org_id         BLOB    NOT NULL,
    from_platform  TEXT    NOT NULL,
    to_platform    TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    amount_micros  INTEGER NOT NULL,
    applied_micros INTEGER NOT NULL,
    campaigns      TEXT    NOT NULL,
    note           TEXT    NOT NULL,
    created_at     TEXT    NOT NULL
) STRICT;
CREATE INDEX campaign_budget_moves_org_id_created_at_idx ON campaign_budget_moves (org_id, created_at);

-- `campaigns` when the daily budget is the sum of live campaigns' ad sets on
-- the platform (the campaigns write it), `manual` when set through the API.
ALTER TABLE twin_budgets ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';

-- An organisation's own OpenAI-compatible model for the planner and creatives;
-- api_key is field-encrypted (registered for key rotation).
CREATE TABLE campaign_llm_settings (
    org_id       BLOB    NOT NULL PRIMARY KEY,
    base_url     TEXT    NOT NULL,
    model        TEXT    NOT NULL,
    api_key      TEXT,
    json_mode    INTEGER NOT NULL,
    image_model  TEXT,
    updated_by   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
) STRICT;
