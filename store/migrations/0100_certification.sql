-- Skill-level certification: evaluation bodies, exam sessions, applications, certificates.
-- No ID number column anywhere: a worker is their person_key (keyed HMAC) plus a name.
CREATE SCHEMA IF NOT EXISTS certification;

-- Projection of the EvaluationBodyWorkflow: the workflow decides, activities write here.
CREATE TABLE certification.bodies (
    body_id          text PRIMARY KEY,
    body_type        char(1)     NOT NULL CHECK (body_type IN ('S', 'Y')),
    name             text        NOT NULL,
    province_code    char(2)     NOT NULL,
    body_code        char(4)     NOT NULL,
    site_serial      char(6)     NOT NULL,
    -- 'occupation_code:level' pairs the filing covers
    scope            text[]      NOT NULL,
    pass_mark        integer,
    sub_levels       jsonb       NOT NULL DEFAULT '[]',
    status           text        NOT NULL CHECK (status IN
                         ('submitted', 'rejected', 'active', 'suspended', 'revoked')),
    filing_receipt   text,
    status_reason    text,
    policy_version   text        NOT NULL,
    filed_at         timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

-- A commission contract lets an enterprise evaluate workers it does not employ.
CREATE TABLE certification.commissions (
    body_id          text NOT NULL REFERENCES certification.bodies,
    commission_id    text NOT NULL,
    client           text NOT NULL,
    valid_until      date NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (body_id, commission_id)
);

CREATE TABLE certification.sessions (
    session_id       text PRIMARY KEY,
    body_id          text        NOT NULL REFERENCES certification.bodies,
    occupation_code  text        NOT NULL,
    level            smallint    NOT NULL CHECK (level BETWEEN 1 AND 5),
    exam_date        date        NOT NULL,
    registration_closes_on date  NOT NULL,
    capacity         integer     NOT NULL CHECK (capacity > 0),
    theory_rooms     integer     NOT NULL,
    proctors         integer     NOT NULL,
    -- examiners with grade, employers and recorded relations as person keys
    examiners        jsonb       NOT NULL,
    policy_version   text        NOT NULL,
    pass_mark        integer     NOT NULL,
    status           text        NOT NULL CHECK (status IN ('open', 'running', 'closed')),
    opened_at        timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE TABLE certification.applications (
    application_id   text PRIMARY KEY,
    session_id       text        NOT NULL REFERENCES certification.sessions,
    body_id          text        NOT NULL,
    occupation_code  text        NOT NULL,
    level            smallint    NOT NULL,
    person_key       char(64)    NOT NULL,
    holder_name      text        NOT NULL,
    holder_name_masked text      NOT NULL,
    employer         text        NOT NULL DEFAULT '',
    former_employers text[]      NOT NULL DEFAULT '{}',
    relationship     text        NOT NULL,
    commission_id    text,
    sub_level        text,
    eligibility_path text        NOT NULL,
    stage            text        NOT NULL,
    stage_rule       text,
    stage_reason     text,
    scores           jsonb       NOT NULL DEFAULT '{}',
    attempts         jsonb       NOT NULL DEFAULT '{}',
    notice_ends_on   date,
    resit_deadline   date,
    certificate_number text,
    submitted_at     timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX applications_session ON certification.applications (session_id, application_id);
-- One open application per person, occupation and level; finished ones may be retried.
CREATE UNIQUE INDEX applications_one_open
    ON certification.applications (person_key, occupation_code, level)
    WHERE stage NOT IN ('rejected', 'expired', 'failed', 'withheld', 'issued');

CREATE TABLE certification.recusals (
    session_id       text NOT NULL,
    examiner_id      text NOT NULL,
    application_id   text NOT NULL,
    reason           text NOT NULL CHECK (reason IN ('relative', 'same_employer', 'trainer')),
    recorded_at      timestamptz NOT NULL,
    PRIMARY KEY (application_id, examiner_id, reason)
);

-- Scores are never edited silently: every change after sign-off lands here.
CREATE TABLE certification.score_audit (
    application_id   text        NOT NULL,
    correction_id    text        NOT NULL,
    component        text        NOT NULL,
    previous_score   numeric     NOT NULL,
    new_score        numeric     NOT NULL,
    reason           text        NOT NULL,
    corrected_by     text        NOT NULL,
    corrected_at     timestamptz NOT NULL,
    PRIMARY KEY (application_id, correction_id)
);

CREATE TABLE certification.objections (
    application_id   text        NOT NULL,
    objection_id     text        NOT NULL,
    reason           text        NOT NULL,
    raised_at        timestamptz NOT NULL,
    upheld           boolean,
    resolution       text,
    resolved_at      timestamptz,
    PRIMARY KEY (application_id, objection_id)
);

-- Serial numbers per body and issue year, advanced in the transaction that inserts the
-- certificate, so a number is never burnt by a failed issuance nor handed out twice.
CREATE TABLE certification.serial_counters (
    body_id          text    NOT NULL,
    issue_year       integer NOT NULL,
    last_serial      integer NOT NULL,
    PRIMARY KEY (body_id, issue_year)
);

CREATE TABLE certification.certificates (
    certificate_number char(22) PRIMARY KEY CHECK (certificate_number ~ '^[YS][0-9]{21}$'),
    -- the application (or promotion) that earned it: a retried issuance finds its number here
    source_id        text        NOT NULL UNIQUE,
    route            text        NOT NULL CHECK (route IN ('assessment', 'promotion')),
    body_id          text        NOT NULL,
    body_type        char(1)     NOT NULL,
    person_key       char(64)    NOT NULL,
    holder_name_masked text      NOT NULL,
    occupation_code  text        NOT NULL,
    level            smallint    NOT NULL,
    issued_on        date        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('valid', 'revoked')),
    revoked_reason   text,
    revoked_on       date
);
CREATE INDEX certificates_person ON certification.certificates (person_key);
CREATE INDEX certificates_body ON certification.certificates (body_id, issued_on);

CREATE TABLE certification.quality_reviews (
    body_id          text        NOT NULL,
    certificate_number char(22)  NOT NULL,
    -- a retried sampling activity returns the rows its sample id already picked
    sample_id        text        NOT NULL,
    sampled_at       timestamptz NOT NULL,
    passed           boolean,
    finding          text,
    reviewed_at      timestamptz,
    PRIMARY KEY (body_id, certificate_number)
);
