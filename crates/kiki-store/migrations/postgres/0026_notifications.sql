-- The notifications centre: what needs a person's attention in an
-- organisation (an approval waiting, a rollback recommended, a platform
-- connection that needs re-connecting, the kill switch engaged, a campaign
-- over its budget, a campaign's ROAS below the organisation's target), and
-- each organisation's thresholds for them.
-- Keep in lockstep with ../sqlite/0026_notifications.sql (the parity test checks).

-- One row per notification. kind: approval_waiting | rollback_recommended
-- | sync_failing | kill_switch_engaged | budget_exceeded | poor_roas.
-- severity: info | warning | high. subject_type: campaign | approval |
-- connection | simulation | kill_switch; subject_id its id (a platform's
-- wire name for a connection whose id is unknown). body: the plain-language
-- text with the figures it rests on (money in its currency). link: the
-- dashboard or API path to act on it. occurrences: how many times the same
-- situation was raised while the notification was open (a repeat updates
-- the row rather than adding one). A notification is open until it is
-- resolved (its cause went away) or dismissed; at most one open row per
-- (organisation, kind, subject).
CREATE TABLE notifications (
    id            UUID    NOT NULL PRIMARY KEY,
    org_id        UUID    NOT NULL,
    kind          TEXT    NOT NULL,
    severity      TEXT    NOT NULL,
    subject_type  TEXT    NOT NULL,
    subject_id    TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    link          TEXT    NOT NULL,
    occurrences   BIGINT NOT NULL DEFAULT 1,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    read_at       TIMESTAMPTZ,
    resolved_at   TIMESTAMPTZ,
    dismissed_at  TIMESTAMPTZ,
    emailed_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX notifications_open_subject_idx ON notifications (org_id, kind, subject_type, subject_id)
    WHERE resolved_at IS NULL AND dismissed_at IS NULL;
CREATE INDEX notifications_org_id_created_at_idx ON notifications (org_id, created_at, id);

-- An organisation's thresholds. A missing row means the defaults
-- (docs/notifications.md). roas_target: revenue ÷ spend below which a
-- campaign raises poor_roas. budget_tolerance_pct: how far over its budget
-- a campaign's spend may go before budget_exceeded. kinds_off: JSON array
-- of the kinds the organisation does not want raised.
CREATE TABLE notification_settings (
    org_id               UUID    NOT NULL PRIMARY KEY,
    roas_target          DOUBLE PRECISION NOT NULL,
    budget_tolerance_pct BIGINT NOT NULL,
    kinds_off            JSONB   NOT NULL,
    updated_by           TEXT    NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);
