-- SyncValue (kiki-ltv-service): uploads with ids, refunds, deletion and
-- erasure. Keep in lockstep with ../postgres/0009_ltv_uploads.sql (the
-- parity test checks). Column types follow src/schema.rs.

-- One row per accepted upload; its transactions carry its id so the upload
-- can be deleted as a whole.
CREATE TABLE ltv_uploads (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB    NOT NULL,
    format      TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    received    INTEGER NOT NULL,
    inserted    INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
) STRICT;
CREATE INDEX ltv_uploads_org_id_created_at_idx ON ltv_uploads (org_id, created_at);

-- The upload a transaction came in (NULL for rows stored before uploads had
-- ids, or ingested without one) and whether it is an order or a refund.
ALTER TABLE ltv_transactions ADD COLUMN upload_id BLOB;
ALTER TABLE ltv_transactions ADD COLUMN kind TEXT NOT NULL DEFAULT 'order';
CREATE INDEX ltv_transactions_org_id_upload_id_idx ON ltv_transactions (org_id, upload_id);

-- When data a model rests on was deleted (NULL while it is intact), and how
-- many stored transactions a fit left out as implausible.
ALTER TABLE ltv_models ADD COLUMN stale_at TEXT;
ALTER TABLE ltv_models ADD COLUMN skipped_transactions INTEGER NOT NULL DEFAULT 0;
