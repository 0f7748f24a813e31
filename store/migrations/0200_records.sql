-- The records service: one electronic training archive per worker, keyed by person key
-- (never the ID number). Append-only: a revocation or correction is a new entry, and the
-- triggers below refuse UPDATE, DELETE and TRUNCATE so no code path can rewrite history.
CREATE SCHEMA IF NOT EXISTS records;

CREATE FUNCTION records.refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'records.% is append-only: record a correction as a new entry', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TABLE records.timeline (
    entry_id           bigserial PRIMARY KEY,
    person_key         text        NOT NULL CHECK (person_key ~ '^[0-9a-f]{64}$'),
    entry_kind         text        NOT NULL,
    occurred_at        timestamptz NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    source_event_id    uuid        NOT NULL,
    source_event_type  text        NOT NULL,
    occupation_code    text,
    level              smallint,
    certificate_number text,
    body_id            text,
    application_id     text,
    details            jsonb       NOT NULL DEFAULT '{}',
    -- Not ON CONFLICT in the handlers: a second application of one event must fail loudly.
    UNIQUE (source_event_id, entry_kind)
);
CREATE INDEX timeline_person ON records.timeline (person_key, entry_id);
CREATE INDEX timeline_certificate ON records.timeline (certificate_number)
    WHERE certificate_number IS NOT NULL;
CREATE INDEX timeline_body_outcomes ON records.timeline (body_id, entry_kind)
    WHERE entry_kind IN ('assessment_passed', 'assessment_failed');

-- The certificate register: what a certificate-number lookup and title equivalence read.
CREATE TABLE records.certificates (
    certificate_number text PRIMARY KEY,
    person_key         text        NOT NULL,
    body_id            text        NOT NULL,
    body_type          text        NOT NULL,
    occupation_code    text        NOT NULL,
    level              smallint    NOT NULL,
    issued_on          date        NOT NULL,
    route              text        NOT NULL,
    holder_name_masked text        NOT NULL,
    source_event_id    uuid        NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificates_person ON records.certificates (person_key);
CREATE INDEX certificates_level_issued ON records.certificates (level, issued_on);

-- May arrive before the certificate it revokes (events on a topic after a relay retry).
CREATE TABLE records.certificate_revocations (
    certificate_number text PRIMARY KEY,
    person_key         text,
    revoked_on         date        NOT NULL,
    reason             text        NOT NULL,
    source_event_id    uuid        NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE records.body_history (
    entry_id         bigserial PRIMARY KEY,
    body_id          text        NOT NULL,
    entry_kind       text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    source_event_id  uuid        NOT NULL UNIQUE,
    details          jsonb       NOT NULL DEFAULT '{}',
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX body_history_body ON records.body_history (body_id, entry_id);

-- Once per worker and title: the primary key is the guarantee the daily run relies on.
CREATE TABLE records.title_eligibilities (
    person_key         text        NOT NULL,
    title              text        NOT NULL,
    occupation_code    text        NOT NULL,
    level              smallint    NOT NULL,
    certificate_number text        NOT NULL,
    held_since         date        NOT NULL,
    found_on           date        NOT NULL,
    event_id           uuid        NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_key, title)
);

CREATE TRIGGER timeline_append_only BEFORE UPDATE OR DELETE ON records.timeline
    FOR EACH ROW EXECUTE FUNCTION records.refuse_rewrite();
CREATE TRIGGER timeline_no_truncate BEFORE TRUNCATE ON records.timeline
    FOR EACH STATEMENT EXECUTE FUNCTION records.refuse_rewrite();
CREATE TRIGGER certificates_append_only BEFORE UPDATE OR DELETE ON records.certificates
    FOR EACH ROW EXECUTE FUNCTION records.refuse_rewrite();
CREATE TRIGGER revocations_append_only BEFORE UPDATE OR DELETE ON records.certificate_revocations
    FOR EACH ROW EXECUTE FUNCTION records.refuse_rewrite();
CREATE TRIGGER body_history_append_only BEFORE UPDATE OR DELETE ON records.body_history
    FOR EACH ROW EXECUTE FUNCTION records.refuse_rewrite();
CREATE TRIGGER title_eligibilities_append_only BEFORE UPDATE OR DELETE ON records.title_eligibilities
    FOR EACH ROW EXECUTE FUNCTION records.refuse_rewrite();
