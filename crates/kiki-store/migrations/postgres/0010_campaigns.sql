-- Campaigns service: campaigns and their ad sets, every status move, approvals
-- and their comments, per-organisation settings, kill switches and creatives.
-- Every table is tenant-owned (org_id, indexed).
-- Keep in lockstep with ../sqlite/0010_campaigns.sql (the parity test checks).
-- No foreign key on org_id: records outlive an organisation, as in 0003/0004.

-- A campaign: the draft as a person wrote it (JSON, `kiki_campaigns::CampaignDraft`),
-- the columns lists filter on, the launch gate's simulation and verdict, and the
-- kill switch that paused it (NULL when none). `version` grows with every change.
CREATE TABLE campaigns (
    id                  UUID    NOT NULL PRIMARY KEY,
    org_id              UUID    NOT NULL,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    daily_budget_micros BIGINT  NOT NULL,
    total_budget_micros BIGINT ,
    draft               JSONB    NOT NULL,
    simulation_id       UUID,
    gate_approved       BOOLEAN,
    gate_reason         TEXT,
    kill_switch_id      UUID,
    version             BIGINT  NOT NULL,
    created_by          TEXT    NOT NULL,
    created_at          TIMESTAMPTZ    NOT NULL,
    updated_at          TIMESTAMPTZ    NOT NULL
);
CREATE INDEX campaigns_org_id_created_at_idx ON campaigns (org_id, created_at);
CREATE INDEX campaigns_org_id_status_idx ON campaigns (org_id, status);

-- The ad sets of a campaign, in the draft's order, with their daily budget in
-- micros (the campaign's daily budget × share) and the bidder line item of a
-- KIKI programmatic ad set.
CREATE TABLE campaign_ad_sets (
    id                  UUID    NOT NULL PRIMARY KEY,
    org_id              UUID    NOT NULL,
    campaign_id         UUID    NOT NULL,
    position            BIGINT  NOT NULL,
    name                TEXT    NOT NULL,
    channel             TEXT    NOT NULL,
    budget_share_bps    BIGINT  NOT NULL,
    daily_budget_micros BIGINT  NOT NULL,
    line_item_id        UUID,
    updated_at          TIMESTAMPTZ    NOT NULL
);
CREATE INDEX campaign_ad_sets_org_id_campaign_id_idx ON campaign_ad_sets (org_id, campaign_id);

-- Every status move: who (actor text), why, and whether a rule made it.
CREATE TABLE campaign_transitions (
    id          UUID    NOT NULL PRIMARY KEY,
    org_id      UUID    NOT NULL,
    campaign_id UUID    NOT NULL,
    action      TEXT    NOT NULL,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT,
    automated   BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ    NOT NULL
);
CREATE INDEX campaign_transitions_org_id_campaign_id_created_at_idx ON campaign_transitions (org_id, campaign_id, created_at);

-- Requests for approval: a launch (kind `launch`) or a budget raise above the
-- organisation's threshold (kind `budget_increase`, with the budgets asked for).
-- status: pending | approved | rejected | withdrawn.
CREATE TABLE campaign_approvals (
    id                  UUID    NOT NULL PRIMARY KEY,
    org_id              UUID    NOT NULL,
    campaign_id         UUID    NOT NULL,
    kind                TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    requested_by        TEXT    NOT NULL,
    reason              TEXT,
    daily_budget_micros BIGINT ,
    total_budget_micros BIGINT ,
    simulation_id       UUID,
    decided_by          TEXT,
    decided_at          TIMESTAMPTZ,
    decision_comment    TEXT,
    created_at          TIMESTAMPTZ    NOT NULL,
    updated_at          TIMESTAMPTZ    NOT NULL
);
CREATE INDEX campaign_approvals_org_id_status_created_at_idx ON campaign_approvals (org_id, status, created_at);
CREATE INDEX campaign_approvals_org_id_campaign_id_idx ON campaign_approvals (org_id, campaign_id);

CREATE TABLE campaign_approval_comments (
    id          UUID    NOT NULL PRIMARY KEY,
    org_id      UUID    NOT NULL,
    approval_id UUID    NOT NULL,
    author      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  TIMESTAMPTZ    NOT NULL
);
CREATE INDEX campaign_approval_comments_org_id_approval_id_idx ON campaign_approval_comments (org_id, approval_id);

-- Per-organisation settings; NULL = the `[campaigns]` default. `policy` is the
-- organisation's own ad-policy rules (JSON, `kiki_creative::PolicyRules`).
CREATE TABLE campaign_settings (
    org_id                    UUID    NOT NULL,
    approval_threshold_micros BIGINT ,
    max_daily_budget_micros   BIGINT ,
    currency                  TEXT,
    four_eyes                 BOOLEAN NOT NULL,
    policy                    JSONB    NOT NULL,
    updated_by                TEXT,
    updated_at                TIMESTAMPTZ    NOT NULL,
    PRIMARY KEY (org_id)
);

-- A kill switch: the organisations it covered, the campaigns it paused (JSON
-- list) and, once released, who released it and what was resumed (JSON).
CREATE TABLE campaign_kill_switches (
    id          UUID    NOT NULL PRIMARY KEY,
    org_id      UUID    NOT NULL,
    reason      TEXT    NOT NULL,
    orgs        JSONB    NOT NULL,
    paused      JSONB    NOT NULL,
    engaged_by  TEXT    NOT NULL,
    engaged_at  TIMESTAMPTZ    NOT NULL,
    released_by TEXT,
    released_at TIMESTAMPTZ,
    resumed     JSONB
);
CREATE INDEX campaign_kill_switches_org_id_engaged_at_idx ON campaign_kill_switches (org_id, engaged_at);

-- Creatives: copy (JSON `kiki_creative::AdCopy`), image and video prompts (JSON),
-- who wrote them (`template`, `llm`, `user`), the policy review (JSON report and
-- its verdict) and users' ratings. status: active | removed.
CREATE TABLE creatives (
    id          UUID    NOT NULL PRIMARY KEY,
    org_id      UUID    NOT NULL,
    campaign_id UUID,
    channel     TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    variation   BIGINT  NOT NULL,
    copy        JSONB    NOT NULL,
    image       JSONB,
    video       JSONB,
    media_url   TEXT,
    verdict     TEXT    NOT NULL,
    review      JSONB    NOT NULL,
    rating      BIGINT ,
    status      TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  TIMESTAMPTZ    NOT NULL,
    updated_at  TIMESTAMPTZ    NOT NULL
);
CREATE INDEX creatives_org_id_created_at_idx ON creatives (org_id, created_at);
CREATE INDEX creatives_org_id_campaign_id_idx ON creatives (org_id, campaign_id);
