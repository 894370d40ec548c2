-- Identity: organisations (agency -> clients), users, memberships, invitations,
-- sign-in sessions, refresh tokens, API keys, password resets, MFA recovery codes
-- and sign-in throttling. Generated from one column list for both dialects;
-- keep in lockstep with ../postgres/0002_identity.sql (the parity test checks).

-- Organisations: agencies, their client accounts, and standalone businesses.
CREATE TABLE organisations (
    id          BLOB        NOT NULL PRIMARY KEY,
    parent_id   BLOB        REFERENCES organisations (id),
    kind        TEXT        NOT NULL CHECK (kind IN ('agency', 'client')),
    name        TEXT        NOT NULL,
    open_signup INTEGER     NOT NULL DEFAULT 0,
    require_mfa INTEGER     NOT NULL DEFAULT 0,
    archived_at TEXT,
    created_at  TEXT        NOT NULL,
    updated_at  TEXT        NOT NULL
) STRICT;
CREATE INDEX organisations_parent_id_idx ON organisations (parent_id);

-- People who sign in. Email is stored lower-cased and unique.
CREATE TABLE users (
    id                  BLOB        NOT NULL PRIMARY KEY,
    email               TEXT        NOT NULL UNIQUE,
    username            TEXT        UNIQUE,
    display_name        TEXT        NOT NULL,
    password_hash       TEXT        NOT NULL,
    is_superadmin       INTEGER     NOT NULL DEFAULT 0,
    status              TEXT        NOT NULL CHECK (status IN ('active', 'deactivated')),
    totp_secret         TEXT,
    totp_enabled_at     TEXT,
    totp_last_step      INTEGER,
    password_changed_at TEXT        NOT NULL,
    last_login_at       TEXT,
    created_at          TEXT        NOT NULL,
    updated_at          TEXT        NOT NULL
) STRICT;

-- A user's role in one organisation (agency roles reach the agency's clients).
CREATE TABLE memberships (
    id         BLOB        NOT NULL PRIMARY KEY,
    org_id     BLOB        NOT NULL REFERENCES organisations (id),
    user_id    BLOB        NOT NULL REFERENCES users (id),
    role       TEXT        NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'analyst', 'viewer')),
    status     TEXT        NOT NULL CHECK (status IN ('active', 'deactivated')),
    created_at TEXT        NOT NULL,
    updated_at TEXT        NOT NULL
) STRICT;
CREATE UNIQUE INDEX memberships_org_id_user_id_idx ON memberships (org_id, user_id);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

-- Invitations by email (a token sent by mail) or invite codes (KIKI-…); only hashes are stored.
CREATE TABLE invitations (
    id         BLOB        NOT NULL PRIMARY KEY,
    org_id     BLOB        NOT NULL REFERENCES organisations (id),
    kind       TEXT        NOT NULL CHECK (kind IN ('email', 'code')),
    email      TEXT,
    role       TEXT        NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'analyst', 'viewer')),
    token_hash TEXT        NOT NULL UNIQUE,
    hint       TEXT        NOT NULL,
    status     TEXT        NOT NULL CHECK (status IN ('unused', 'used', 'revoked')),
    expires_at TEXT        NOT NULL,
    created_by BLOB,
    used_by    BLOB,
    used_at    TEXT,
    revoked_at TEXT,
    created_at TEXT        NOT NULL
) STRICT;
CREATE INDEX invitations_org_id_created_at_idx ON invitations (org_id, created_at);

-- A sign-in: a refresh-token family (API) or a dashboard cookie session. Revoking it ends every token of the family.
CREATE TABLE auth_sessions (
    id             BLOB        NOT NULL PRIMARY KEY,
    user_id        BLOB        NOT NULL REFERENCES users (id),
    org_id         BLOB        NOT NULL REFERENCES organisations (id),
    kind           TEXT        NOT NULL CHECK (kind IN ('token', 'cookie')),
    amr            TEXT        NOT NULL,
    token_hash     TEXT        UNIQUE,
    csrf_hash      TEXT,
    ip             TEXT,
    user_agent     TEXT,
    created_at     TEXT        NOT NULL,
    last_seen_at   TEXT        NOT NULL,
    expires_at     TEXT        NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
) STRICT;
CREATE INDEX auth_sessions_user_id_idx ON auth_sessions (user_id);

-- Opaque refresh tokens, hashed; each use rotates to a child. Presenting a rotated token revokes the family.
CREATE TABLE refresh_tokens (
    id         BLOB        NOT NULL PRIMARY KEY,
    session_id BLOB        NOT NULL REFERENCES auth_sessions (id),
    token_hash TEXT        NOT NULL UNIQUE,
    status     TEXT        NOT NULL CHECK (status IN ('active', 'rotated', 'revoked')),
    created_at TEXT        NOT NULL,
    used_at    TEXT,
    expires_at TEXT        NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- Machine credentials: kiki_<prefix>_<secret>, shown once, stored hashed.
CREATE TABLE api_keys (
    id           BLOB        NOT NULL PRIMARY KEY,
    org_id       BLOB        NOT NULL REFERENCES organisations (id),
    name         TEXT        NOT NULL,
    prefix       TEXT        NOT NULL UNIQUE,
    key_hash     TEXT        NOT NULL,
    permissions  TEXT        NOT NULL,
    created_by   BLOB,
    created_at   TEXT        NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT,
    revoked_at   TEXT
) STRICT;
CREATE INDEX api_keys_org_id_idx ON api_keys (org_id);

-- Single-use, expiring password reset tokens (hashed).
CREATE TABLE password_resets (
    id         BLOB        NOT NULL PRIMARY KEY,
    user_id    BLOB        NOT NULL REFERENCES users (id),
    token_hash TEXT        NOT NULL UNIQUE,
    expires_at TEXT        NOT NULL,
    used_at    TEXT,
    created_at TEXT        NOT NULL
) STRICT;
CREATE INDEX password_resets_user_id_idx ON password_resets (user_id);

-- MFA recovery codes (hashed, single use).
CREATE TABLE recovery_codes (
    id         BLOB        NOT NULL PRIMARY KEY,
    user_id    BLOB        NOT NULL REFERENCES users (id),
    code_hash  TEXT        NOT NULL,
    used_at    TEXT,
    created_at TEXT        NOT NULL
) STRICT;
CREATE INDEX recovery_codes_user_id_idx ON recovery_codes (user_id);

-- Failed sign-in counters per account identifier and per client address (shared by replicas).
CREATE TABLE login_throttle (
    key               TEXT        NOT NULL PRIMARY KEY,
    failures          INTEGER     NOT NULL,
    window_started_at TEXT        NOT NULL,
    next_allowed_at   TEXT,
    locked_until      TEXT,
    updated_at        TEXT        NOT NULL
) STRICT;
