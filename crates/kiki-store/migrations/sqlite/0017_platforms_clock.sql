-- The sandbox market's clock in accelerated time (`platforms.sandbox_seconds_per_day`):
-- one row, `market`, shared by every process on this database, so replicas agree
-- on the market's time. At real_anchor_at the market stood at market_anchor_at;
-- from there a simulated day passes every seconds_per_day real seconds.
-- swept_at: when the worker last ran the accelerated sync sweep (the market counts
-- as running while it does; a start after a longer pause resumes the market where
-- it stood). Not tenant data: one market clock per installation.
-- Keep in lockstep with ../postgres/0017_platforms_clock.sql (the parity test checks).
CREATE TABLE platform_market_clock (
    id               TEXT    NOT NULL PRIMARY KEY,
    seconds_per_day  INTEGER NOT NULL,
    real_anchor_at   TEXT    NOT NULL,
    market_anchor_at TEXT    NOT NULL,
    swept_at         TEXT,
    updated_at       TEXT    NOT NULL
) STRICT;

-- An ad set's ads among an organisation's mapped objects (deployment reads them
-- per ad set; without it, every deployment scanned all of the platform's ads).
CREATE INDEX platform_objects_org_id_platform_ad_set_id_idx ON platform_objects (org_id, platform, ad_set_id);
