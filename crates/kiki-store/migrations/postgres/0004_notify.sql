-- SyncNotify: the mail outbox. Every message the product sends is recorded
-- here. With the `outbox` transport (the default) the row IS the delivery:
-- the body, which may hold a password-reset or invitation token, is stored
-- and shown in the app. With `smtp` only the envelope and status are kept;
-- the body is replaced by '[sent by SMTP]' so no token rests in the database.
-- Keep in lockstep with ../sqlite/0004_notify.sql (the parity test checks).
-- Column types follow src/schema.rs.

-- No foreign key on org_id: mail sent for an organisation stays on record
-- after it, and platform mail (sign-up, password reset) has no organisation.
CREATE TABLE mail_outbox (
    id          UUID        NOT NULL PRIMARY KEY,
    org_id      UUID,
    kind        TEXT        NOT NULL,
    transport   TEXT        NOT NULL CHECK (transport IN ('outbox', 'smtp')),
    to_address  TEXT        NOT NULL,
    subject     TEXT        NOT NULL,
    body_text   TEXT        NOT NULL,
    body_html   TEXT,
    status      TEXT        NOT NULL CHECK (status IN ('stored', 'sent', 'failed')),
    created_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ,
    last_error  TEXT
);
-- The outbox page of an organisation (or of the platform), newest first.
CREATE INDEX mail_outbox_org_id_created_at_idx ON mail_outbox (org_id, created_at);
