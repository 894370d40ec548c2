-- SyncShield and decision records: the hash-chained audit log, the head of
-- each chain, and the decision record every automated action leaves.
-- Keep in lockstep with ../postgres/0003_shield.sql (the parity test checks).
-- Column types follow src/schema.rs.

-- One row per audited action. `chain` is the organisation id as text, or
-- 'platform' for events that belong to no organisation; `seq` counts 1, 2, 3…
-- within a chain and `hash` covers the row and `prev_hash` (see kiki-shield).
-- No foreign key on org_id: the record of an organisation outlives it.
CREATE TABLE audit_log (
    id          BLOB    NOT NULL PRIMARY KEY,
    org_id      BLOB,
    chain       TEXT    NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    occurred_at TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT,
    action      TEXT    NOT NULL,
    target_kind TEXT,
    target_id   TEXT,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    details     TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
) STRICT;
-- The chain order, the newest-first listing and verification all walk this index.
CREATE UNIQUE INDEX audit_log_chain_seq_idx ON audit_log (chain, seq);
-- "What happened to this record" and "what did this person do".
CREATE INDEX audit_log_chain_target_idx ON audit_log (chain, target_kind, target_id);
CREATE INDEX audit_log_chain_actor_id_idx ON audit_log (chain, actor_id);

-- The newest entry of each chain, written in the same transaction as the
-- entry: verification compares it with the last row, so deleting the newest
-- entries is detected.
CREATE TABLE audit_heads (
    chain      TEXT    NOT NULL PRIMARY KEY,
    seq        INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
) STRICT;

-- What an engine decided, from which inputs, how sure it was and why.
CREATE TABLE decisions (
    id             BLOB    NOT NULL PRIMARY KEY,
    org_id         BLOB,
    engine         TEXT    NOT NULL,
    engine_version TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    subject_kind   TEXT    NOT NULL,
    subject_id     TEXT    NOT NULL,
    inputs         TEXT    NOT NULL,
    output         TEXT    NOT NULL,
    confidence     REAL    CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    explanation    TEXT    NOT NULL,
    audit_entry_id BLOB,
    decided_at     TEXT    NOT NULL
) STRICT;
CREATE INDEX decisions_org_id_decided_at_idx ON decisions (org_id, decided_at);
CREATE INDEX decisions_org_id_subject_kind_subject_id_idx ON decisions (org_id, subject_kind, subject_id);
