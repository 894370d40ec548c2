-- Ad platforms: an organisation's connection per platform (tokens field-
-- encrypted), the OAuth states of connections being made, the map from KIKI's
-- campaigns / ad sets / ads / creatives to the platform's ids, daily metrics
-- synced from the platforms, the sync runs, and the sandbox market's own
-- platform-side state (its objects and the days it has delivered). Every
-- table is tenant-owned (org_id, indexed).
-- Keep in lockstep with ../postgres/0014_platforms.sql (the parity test checks).

-- mode: sandbox | live. status: connected | broken | disconnected.
-- access_token / refresh_token: field-encrypted (kiki_shield::Keyring).
CREATE TABLE platform_connections (
    id                BLOB    NOT NULL PRIMARY KEY,
    org_id            BLOB    NOT NULL,
    platform          TEXT    NOT NULL,
    mode              TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    account_id        TEXT    NOT NULL,
    account_name      TEXT    NOT NULL,
    currency          TEXT    NOT NULL,
    time_zone         TEXT    NOT NULL,
    login_customer_id TEXT,
    access_token      TEXT,
    refresh_token     TEXT,
    token_expires_at  TEXT,
    scope             TEXT,
    last_error        TEXT,
    last_checked_at   TEXT,
    last_synced_day   TEXT,
    version           INTEGER NOT NULL,
    created_by        TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX platform_connections_org_id_platform_idx ON platform_connections (org_id, platform);

-- A connection being made: the hash of the OAuth `state`, the PKCE verifier
-- (field-encrypted), where to return. Used once, then deleted.
CREATE TABLE platform_oauth_states (
    state_hash        TEXT    NOT NULL PRIMARY KEY,
    org_id            BLOB    NOT NULL,
    platform          TEXT    NOT NULL,
    code_verifier     TEXT    NOT NULL,
    redirect_uri      TEXT    NOT NULL,
    account_id        TEXT    NOT NULL,
    login_customer_id TEXT,
    created_by        TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    expires_at        TEXT    NOT NULL
) STRICT;
CREATE INDEX platform_oauth_states_org_id_idx ON platform_oauth_states (org_id);

-- kind: campaign | ad_set | ad | creative. kiki_id: KIKI's id of the object
-- (a campaign, ad set or creative uuid; an ad is `<ad set>:<creative>`).
CREATE TABLE platform_objects (
    org_id        BLOB    NOT NULL,
    platform      TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    kiki_id       TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    campaign_id   TEXT    NOT NULL,
    ad_set_id     TEXT,
    status        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    PRIMARY KEY (org_id, platform, kind, kiki_id)
) STRICT;
CREATE UNIQUE INDEX platform_objects_external_idx ON platform_objects (org_id, platform, kind, external_id);

-- One object's numbers on one day as the platform reported them (level
-- campaign | ad_set | ad), upserted by every sync. Money: micros in currency.
CREATE TABLE platform_daily_metrics (
    org_id            BLOB    NOT NULL,
    platform          TEXT    NOT NULL,
    level             TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    day               TEXT    NOT NULL,
    campaign_id       TEXT,
    ad_set_id         TEXT,
    ad_id             TEXT,
    currency          TEXT    NOT NULL,
    spend_micros      INTEGER NOT NULL,
    impressions       INTEGER NOT NULL,
    clicks            INTEGER NOT NULL,
    conversions       REAL    NOT NULL,
    conversion_value_micros INTEGER NOT NULL,
    reach             INTEGER,
    frequency         REAL,
    synced_at         TEXT    NOT NULL,
    PRIMARY KEY (org_id, platform, level, external_id, day)
) STRICT;
CREATE INDEX platform_daily_metrics_org_id_day_idx ON platform_daily_metrics (org_id, day);

-- trigger: schedule | manual | launch. status: succeeded | failed | backed_off.
CREATE TABLE platform_sync_runs (
    id            BLOB    NOT NULL PRIMARY KEY,
    org_id        BLOB    NOT NULL,
    platform      TEXT    NOT NULL,
    trigger       TEXT    NOT NULL,
    since         TEXT    NOT NULL,
    until         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    rows_upserted INTEGER NOT NULL,
    error         TEXT,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT    NOT NULL
) STRICT;
CREATE INDEX platform_sync_runs_org_id_started_at_idx ON platform_sync_runs (org_id, started_at);

-- The sandbox market's objects, as a platform holds them: id is the
-- sandbox's id; spec is JSON (the port's CampaignSpec / AdSetSpec /
-- CreativeSpec / AdSpec); first_live_day is when an ad set first delivered.
CREATE TABLE sandbox_objects (
    org_id         BLOB    NOT NULL,
    platform       TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    parent_id      TEXT,
    status         TEXT    NOT NULL,
    spec           TEXT    NOT NULL,
    first_live_day TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    PRIMARY KEY (org_id, platform, id)
) STRICT;

-- The days the sandbox has delivered per ad set (a day is delivered once,
-- with the budget and status it had): what its insights report.
CREATE TABLE sandbox_days (
    org_id        BLOB    NOT NULL,
    platform      TEXT    NOT NULL,
    ad_set_id     TEXT    NOT NULL,
    day           TEXT    NOT NULL,
    spend_micros  INTEGER NOT NULL,
    impressions   INTEGER NOT NULL,
    reach         INTEGER NOT NULL,
    clicks        INTEGER NOT NULL,
    conversions   INTEGER NOT NULL,
    conversion_value_micros INTEGER NOT NULL,
    frequency     REAL    NOT NULL,
    PRIMARY KEY (org_id, platform, ad_set_id, day)
) STRICT;
