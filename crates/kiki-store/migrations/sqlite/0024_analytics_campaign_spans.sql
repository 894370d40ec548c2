-- Analytics: for each campaign (per organisation, platform, platform id and
-- currency), the first and last day on which it had spend, widened in the
-- same transaction as analytics_daily whenever the ingest writes a
-- campaign-level row with spend. "Active campaigns in a range" reads these
-- spans (a few hundred rows per organisation) and confirms each candidate
-- with one primary-key probe of analytics_daily, instead of a DISTINCT over
-- every campaign-day of the range. A span is never narrowed: it may be
-- wider than the days that still have spend (a re-synced day that lost its
-- spend), which the probe corrects.
-- Keep in lockstep with ../postgres/0024_analytics_campaign_spans.sql.
CREATE TABLE analytics_campaign_spans (
    org_id       BLOB NOT NULL,
    platform     TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    currency     TEXT NOT NULL,
    campaign_id  TEXT,
    first_day    TEXT NOT NULL,
    last_day     TEXT NOT NULL,
    PRIMARY KEY (org_id, platform, external_id, currency)
) STRICT;

INSERT INTO analytics_campaign_spans (org_id, platform, external_id, currency, campaign_id, first_day, last_day)
SELECT org_id, platform, external_id, currency, MAX(campaign_id), MIN(day), MAX(day)
FROM analytics_daily
WHERE level = 'campaign' AND spend_micros > 0
GROUP BY org_id, platform, external_id, currency;
