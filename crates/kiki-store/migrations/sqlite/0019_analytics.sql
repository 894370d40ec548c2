-- Analytics: the daily roll-ups the analytics API reads, maintained by the
-- analytics context itself from the metrics the ad platforms' sync stores
-- (`platforms.metrics_synced` → the `analytics.ingest` job → the platforms
-- service's metrics read), never by reading other contexts' tables.
-- Keep in lockstep with ../postgres/0019_analytics.sql (the parity test checks).

-- One object's numbers on one day, as its platform reported them: level is
-- campaign | ad_set | ad; external_id is the platform's id of the object;
-- campaign_id, ad_set_id and ad_id are KIKI's ids when KIKI launched it.
-- Money in micros of `currency`; conversions in millionths (platforms
-- report fractions), so every sum is an exact integer. A re-synced day
-- replaces its rows (the ingest deletes the platform's days and writes
-- them again in one transaction), so nothing is counted twice.
CREATE TABLE analytics_daily (
    org_id             BLOB    NOT NULL,
    level              TEXT    NOT NULL,
    platform           TEXT    NOT NULL,
    external_id        TEXT    NOT NULL,
    day                TEXT    NOT NULL,
    campaign_id        TEXT,
    ad_set_id          TEXT,
    ad_id              TEXT,
    currency           TEXT    NOT NULL,
    spend_micros       INTEGER NOT NULL,
    revenue_micros     INTEGER NOT NULL,
    conversions_micros INTEGER NOT NULL,
    impressions        INTEGER NOT NULL,
    clicks             INTEGER NOT NULL,
    updated_at         TEXT    NOT NULL,
    PRIMARY KEY (org_id, level, platform, external_id, day)
) STRICT;
CREATE INDEX analytics_daily_org_id_level_day_idx ON analytics_daily (org_id, level, day);
CREATE INDEX analytics_daily_org_id_campaign_id_level_day_idx ON analytics_daily (org_id, campaign_id, level, day);
CREATE INDEX analytics_daily_org_id_ad_set_id_level_day_idx ON analytics_daily (org_id, ad_set_id, level, day);

-- The campaign-level rows summed per organisation, platform, currency and
-- day (campaigns: how many had spend that day), written in the same
-- transaction as analytics_daily: summaries, time series and the platform
-- breakdown read one row per platform and day.
CREATE TABLE analytics_daily_totals (
    org_id             BLOB    NOT NULL,
    day                TEXT    NOT NULL,
    platform           TEXT    NOT NULL,
    currency           TEXT    NOT NULL,
    spend_micros       INTEGER NOT NULL,
    revenue_micros     INTEGER NOT NULL,
    conversions_micros INTEGER NOT NULL,
    impressions        INTEGER NOT NULL,
    clicks             INTEGER NOT NULL,
    campaigns          INTEGER NOT NULL,
    updated_at         TEXT    NOT NULL,
    PRIMARY KEY (org_id, day, platform, currency)
) STRICT;
