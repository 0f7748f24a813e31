-- Signed credentials: SkillFlow's issuer keys and each certificate's place in its issuing
-- body's revocation list (Bitstring Status List).
CREATE SCHEMA IF NOT EXISTS credentials;

-- Ed25519 keys, the newest signing; retired keys stay published so older credentials verify.
-- The private key is encrypted (AES-256-GCM, key id as associated data).
CREATE TABLE credentials.issuer_keys (
    key_number       integer     PRIMARY KEY CHECK (key_number > 0),
    key_id           text        NOT NULL UNIQUE,
    public_multibase text        NOT NULL,
    private_key      bytea       NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    retired_at       timestamptz
);

-- A certificate's status index within its body's lists, given once and never reused.
CREATE TABLE credentials.status_entries (
    certificate_number text        PRIMARY KEY,
    body_id            text        NOT NULL,
    status_index       integer     NOT NULL CHECK (status_index >= 0),
    assigned_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (body_id, status_index)
);
