-- Campaigns service: campaigns and their ad sets, every status move, approvals
-- and their comments, per-organisation settings, kill switches and creatives.
-- Every table is tenant-owned (org_id, indexed).
-- Keep in lockstep with ../postgres/0010_campaigns.sql (the parity test checks).
-- No foreign key on org_id: records outlive an organisation, as in 0003/0004.

-- A campaign: the draft as a person wrote it (JSON, `kiki_campaigns::CampaignDraft`),
-- the columns lists filter on, the launch gate's simulation and verdict, and the
-- kill switch that paused it (NULL when none). `version` grows with every change.
CREATE TABLE campaigns (
    id                  BLOB    NOT NULL PRIMARY KEY,
    org_id              BLOB    NOT NULL,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    daily_budget_micros INTEGER NOT NULL,
    total_budget_micros INTEGER,
    draft               TEXT    NOT NULL,
    simulation_id       BLOB,
    gate_approved       INTEGER,
    gate_reason         TEXT,
    kill_switch_id      BLOB,
    version             INTEGER NOT NULL,
    created_by          TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
) STRICT;
CREATE INDEX campaigns_org_id_created_at_idx ON campaigns (org_id, created_at);
CREATE INDEX campaigns_org_id_status_idx ON campaigns (org_id, status);

-- The ad sets of a campaign, in the draft's order, with their daily budget in
-- micros (the campaign's daily budget × share) and the bidder line item of a
-- KIKI programmatic ad set.
CREATE TABLE campaign_ad_sets (
    id                  BLOB    NOT NULL PRIMARY KEY,
    org_id              BLOB    NOT NULL,
    campaign_id         BLOB    NOT NULL,
    position            INTEGER NOT NULL,
    name                TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    budget_share_bps    INTEGER NOT NULL,
    daily_budget_micros INTEGER NOT NULL,
    line_item_id        BLOB,
    updated_at          TEXT    NOT NULL
) STRICT;
CREATE INDEX campaign_ad_sets_org_id_campaign_id_idx ON campaign_ad_sets (org_id, campaign_id);

-- Every status move: who (actor text), why, and whether a rule made it.
CREATE TABLE campaign_transitions (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB    NOT NULL,
    campaign_id BLOB    NOT NULL,
    action      TEXT    NOT NULL,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT,
    automated   INTEGER NOT NULL,
    created_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX campaign_transitions_org_id_campaign_id_created_at_idx ON campaign_transitions (org_id, campaign_id, created_at);

-- Requests for approval: a launch (kind `launch`) or a budget raise above the
-- organisation's threshold (kind `budget_increase`, with the budgets asked for).
-- status: pending | approved | rejected | withdrawn.
CREATE TABLE campaign_approvals (
    id                  BLOB    NOT NULL PRIMARY KEY,
    org_id              BLOB    NOT NULL,
    campaign_id         BLOB    NOT NULL,
    kind                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    requested_by        TEXT    NOT NULL,
    reason              TEXT,
    daily_budget_micros INTEGER,
    total_budget_micros INTEGER,
    simulation_id       BLOB,
    decided_by          TEXT,
    decided_at          TEXT,
    decision_comment    TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
) STRICT;
CREATE INDEX campaign_approvals_org_id_status_created_at_idx ON campaign_approvals (org_id, status, created_at);
CREATE INDEX campaign_approvals_org_id_campaign_id_idx ON campaign_approvals (org_id, campaign_id);

CREATE TABLE campaign_approval_comments (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB    NOT NULL,
    approval_id BLOB    NOT NULL,
    author      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX campaign_approval_comments_org_id_approval_id_idx ON campaign_approval_comments (org_id, approval_id);

-- Per-organisation settings; NULL = the `[campaigns]` default. `policy` is the
-- organisation's own ad-policy rules (JSON, `kiki_creative::PolicyRules`).
CREATE TABLE campaign_settings (
    org_id                    BLOB    NOT NULL,
    approval_threshold_micros INTEGER,
    max_daily_budget_micros   INTEGER,
    currency                  TEXT,
    four_eyes                 INTEGER NOT NULL,
    policy                    TEXT    NOT NULL,
    updated_by                TEXT,
    updated_at                TEXT    NOT NULL,
    PRIMARY KEY (org_id)
) STRICT;

-- A kill switch: the organisations it covered, the campaigns it paused (JSON
-- list) and, once released, who released it and what was resumed (JSON).
CREATE TABLE campaign_kill_switches (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB    NOT NULL,
    reason      TEXT    NOT NULL,
    orgs        TEXT    NOT NULL,
    paused      TEXT    NOT NULL,
    engaged_by  TEXT    NOT NULL,
    engaged_at  TEXT    NOT NULL,
    released_by TEXT,
    released_at TEXT,
    resumed     TEXT
) STRICT;
CREATE INDEX campaign_kill_switches_org_id_engaged_at_idx ON campaign_kill_switches (org_id, engaged_at);

-- Creatives: copy (JSON `kiki_creative::AdCopy`), image and video prompts (JSON),
-- who wrote them (`template`, `llm`, `user`), the policy review (JSON report and
-- its verdict) and users' ratings. status: active | removed.
CREATE TABLE creatives (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB    NOT NULL,
    campaign_id BLOB,
    channel     TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    variation   INTEGER NOT NULL,
    copy        TEXT    NOT NULL,
    image       TEXT,
    video       TEXT,
    media_url   TEXT,
    verdict     TEXT    NOT NULL,
    review      TEXT    NOT NULL,
    rating      INTEGER,
    status      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX creatives_org_id_created_at_idx ON creatives (org_id, created_at);
CREATE INDEX creatives_org_id_campaign_id_idx ON creatives (org_id, campaign_id);
