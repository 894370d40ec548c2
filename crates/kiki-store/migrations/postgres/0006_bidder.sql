-- SyncFlow (the bidder service): line items, per-segment LTVs fed to the bid
-- path, and hourly delivery statistics written in batches by the bidder.
-- Keep in lockstep with ../sqlite/0006_bidder.sql (the parity test checks).
-- Column types follow src/schema.rs.

-- One row per line item. `spec` is the full engine `LineItem` (JSON); the
-- other columns index it for tenancy, listing and the snapshot load.
-- `delivery_status` is the last status a bidder recorded a decision for
-- (delivering, budget_exhausted, margin_refused, ...), so that replicas
-- record each change once (conditional update).
CREATE TABLE bidder_line_items (
    id                  UUID    NOT NULL PRIMARY KEY,
    org_id              UUID    NOT NULL,
    campaign_id         UUID    NOT NULL,
    name                TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('active', 'paused', 'archived')),
    flight_start        TIMESTAMPTZ NOT NULL,
    flight_end          TIMESTAMPTZ,
    daily_budget_micros BIGINT  NOT NULL,
    currency            TEXT    NOT NULL,
    spec                JSONB   NOT NULL,
    delivery_status     TEXT    NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
-- The list page of an organisation.
CREATE INDEX bidder_line_items_org_id_status_idx ON bidder_line_items (org_id, status);
-- The snapshot load: every active line item whose flight has not ended.
CREATE INDEX bidder_line_items_status_flight_end_idx ON bidder_line_items (status, flight_end);

-- Predicted LTV per audience segment (PUT /v1/bidder/segments; later the LTV service).
CREATE TABLE bidder_segment_values (
    org_id      UUID    NOT NULL,
    segment     TEXT    NOT NULL,
    ltv_micros  BIGINT  NOT NULL,
    currency    TEXT    NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, segment)
);
CREATE INDEX bidder_segment_values_org_id_idx ON bidder_segment_values (org_id);

-- Which segment a user (OpenRTB `user.buyeruid` or `user.id`) belongs to.
CREATE TABLE bidder_segment_members (
    org_id      UUID    NOT NULL,
    user_key    TEXT    NOT NULL,
    segment     TEXT    NOT NULL,
    PRIMARY KEY (org_id, user_key)
);
CREATE INDEX bidder_segment_members_org_id_idx ON bidder_segment_members (org_id);

-- Delivery per line item per UTC hour, summed over replicas (upsert-add).
CREATE TABLE bidder_hourly_stats (
    org_id        UUID    NOT NULL,
    line_item_id  UUID    NOT NULL,
    hour          TIMESTAMPTZ NOT NULL,
    bids          BIGINT  NOT NULL,
    wins          BIGINT  NOT NULL,
    spend_micros  BIGINT  NOT NULL,
    impressions   BIGINT  NOT NULL,
    clicks        BIGINT  NOT NULL,
    PRIMARY KEY (line_item_id, hour)
);
CREATE INDEX bidder_hourly_stats_org_id_hour_idx ON bidder_hourly_stats (org_id, hour);
