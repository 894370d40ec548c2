-- Country and device breakdowns: the ad platforms' campaign-day numbers
-- broken down by the country people saw the ads in and the device they saw
-- them on, as the platforms' sync stores them, and the analytics context's
-- own roll-up of them (fed by its ingest job through the platforms
-- service's read, never by reading the platforms' tables).
-- Keep in lockstep with ../sqlite/0022_breakdowns.sql (the parity test checks).

-- One campaign's numbers on one day for one value of a dimension, as the
-- platform reported them: dimension is country | device; value is an ISO
-- 3166-1 alpha-2 code or mobile | desktop | tablet | connected_tv | other;
-- external_id is the platform's campaign id, campaign_id KIKI's when KIKI
-- launched it. Money in micros of `currency`. A sync replaces the days it
-- read (delete, then insert, in the transaction that upserts the metrics).
CREATE TABLE platform_daily_breakdowns (
    org_id            UUID    NOT NULL,
    platform          TEXT    NOT NULL,
    dimension         TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    day               TEXT    NOT NULL,
    value             TEXT    NOT NULL,
    campaign_id       TEXT,
    currency          TEXT    NOT NULL,
    spend_micros      BIGINT  NOT NULL,
    impressions       BIGINT  NOT NULL,
    clicks            BIGINT  NOT NULL,
    conversions       DOUBLE PRECISION NOT NULL,
    conversion_value_micros BIGINT  NOT NULL,
    synced_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, platform, dimension, external_id, day, value)
);
CREATE INDEX platform_daily_breakdowns_org_id_dimension_day_idx ON platform_daily_breakdowns (org_id, dimension, day);

-- Whether a platform reported a dimension for a synced day (reported true),
-- or said it does not (reported false, with its reason).
CREATE TABLE platform_breakdown_coverage (
    org_id            UUID    NOT NULL,
    platform          TEXT    NOT NULL,
    dimension         TEXT    NOT NULL,
    day               TEXT    NOT NULL,
    reported          BOOLEAN NOT NULL,
    reason            TEXT,
    synced_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, platform, dimension, day)
);
CREATE INDEX platform_breakdown_coverage_org_id_dimension_day_idx ON platform_breakdown_coverage (org_id, dimension, day);

-- The analytics roll-up of the breakdowns: one campaign's numbers on one day
-- for one value, conversions in millionths as in analytics_daily. The
-- ingest replaces a platform's days (delete, then insert, in one
-- transaction), so a re-synced day is never counted twice.
CREATE TABLE analytics_daily_dims (
    org_id             UUID    NOT NULL,
    dimension          TEXT    NOT NULL,
    platform           TEXT    NOT NULL,
    external_id        TEXT    NOT NULL,
    day                TEXT    NOT NULL,
    value              TEXT    NOT NULL,
    campaign_id        TEXT,
    currency           TEXT    NOT NULL,
    spend_micros       BIGINT  NOT NULL,
    revenue_micros     BIGINT  NOT NULL,
    conversions_micros BIGINT  NOT NULL,
    impressions        BIGINT  NOT NULL,
    clicks             BIGINT  NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, dimension, platform, external_id, day, value)
);
CREATE INDEX analytics_daily_dims_org_id_dimension_day_idx ON analytics_daily_dims (org_id, dimension, day);

-- Per platform and day, whether the dimension was reported: a breakdown
-- answer lists the platforms that did not report it in its range.
CREATE TABLE analytics_dims_coverage (
    org_id             UUID    NOT NULL,
    dimension          TEXT    NOT NULL,
    platform           TEXT    NOT NULL,
    day                TEXT    NOT NULL,
    reported           BOOLEAN NOT NULL,
    reason             TEXT,
    updated_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, dimension, platform, day)
);
CREATE INDEX analytics_dims_coverage_org_id_dimension_day_idx ON analytics_dims_coverage (org_id, dimension, day);
