-- Idempotency keys (the `Idempotency-Key` request header, IETF draft
-- draft-ietf-httpapi-idempotency-key-header): a creating request retried
-- with the same key by the same caller gets the first answer again instead
-- of creating a second resource. A row is claimed before the handler runs
-- (`status` NULL = in progress) and completed with the answer afterwards;
-- rows older than a day are deleted by `db.housekeeping`.
-- Keep in lockstep with ../postgres/0008_idempotency.sql (the parity test checks).
-- Column types follow src/schema.rs.

CREATE TABLE idempotency_keys (
    -- The authenticated caller and active organisation (`user:<id>@<org>`,
    -- `key:<id>@<org>`): one caller's key never answers another's request.
    owner         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    -- SHA-256 of method, path, query and body: the same key with another
    -- request is refused (422).
    request_hash  TEXT NOT NULL,
    status        INTEGER,
    content_type  TEXT,
    location      TEXT,
    body          TEXT,
    created_at    TEXT NOT NULL,
    completed_at  TEXT,
    PRIMARY KEY (owner, idem_key)
) STRICT;
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
