-- What operators do to running work, and what the roles report about themselves.
CREATE SCHEMA IF NOT EXISTS operations;

-- Every repair (reset, terminate, re-check, replay, discard, re-publish): who, why, what,
-- when and how it ended. Kept: rows are never updated or deleted.
CREATE TABLE operations.repairs (
    id            bigserial PRIMARY KEY,
    action        text        NOT NULL,
    target        text        NOT NULL,
    reason        text        NOT NULL CHECK (btrim(reason) <> ''),
    requested_by  text        NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    outcome       text        NOT NULL,
    detail        jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX repairs_recent ON operations.repairs (requested_at DESC);

-- Each running role instance's heartbeat: the console reads roles' state here, wherever
-- they run. A heartbeat older than a few intervals means the instance is gone.
CREATE TABLE operations.role_instances (
    role          text        NOT NULL,
    instance      text        NOT NULL,
    version       text        NOT NULL,
    started_at    timestamptz NOT NULL,
    seen_at       timestamptz NOT NULL,
    ready         boolean     NOT NULL,
    checks        jsonb       NOT NULL DEFAULT '{}',
    -- where the instance serves /health and /metrics (its host is the instance's)
    port          integer,
    PRIMARY KEY (role, instance)
);

-- Activities that keep failing, reported by the worker's interceptor from the attempt the
-- service levels name on; removed when the activity succeeds. No payloads, no personal data.
CREATE TABLE operations.activity_retries (
    workflow_id   text        NOT NULL,
    run_id        text        NOT NULL,
    activity_id   text        NOT NULL,
    activity_type text        NOT NULL,
    workflow_type text        NOT NULL,
    attempt       integer     NOT NULL,
    last_error    text        NOT NULL,
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, run_id, activity_id)
);
