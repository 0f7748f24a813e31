-- Bearer tokens of the API's principals. Only a SHA-256 digest of each token is kept (a
-- token is 32 random bytes, so a digest cannot be reversed by guessing); the token itself
-- is shown once, when it is created.
CREATE SCHEMA IF NOT EXISTS access;

CREATE TABLE access.tokens (
    token_id    uuid        PRIMARY KEY,
    digest      bytea       NOT NULL UNIQUE,
    role        text        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    bodies      text[]      NOT NULL DEFAULT '{}',
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    revoked_by  text
);

-- A person's name says whose token it is in every audit trail: one live token per name.
CREATE UNIQUE INDEX tokens_live_name ON access.tokens (name) WHERE revoked_at IS NULL;
