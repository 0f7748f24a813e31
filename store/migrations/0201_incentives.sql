-- The incentive service: the facts it decides on (registrations, assessments, certificates,
-- insurance and training-subsidy records), its claims and the payment ledger.
-- Keyed by person key; no ID number column anywhere.
CREATE SCHEMA IF NOT EXISTS incentives;

CREATE TABLE incentives.registrations (
    application_id     text PRIMARY KEY,
    person_key         text        NOT NULL,
    session_id         text        NOT NULL,
    body_id            text        NOT NULL,
    occupation_code    text        NOT NULL,
    level              smallint    NOT NULL,
    candidate_age      smallint    NOT NULL,
    candidate_category text        NOT NULL,
    appraisal_fee_fen  bigint      NOT NULL,
    first_appraisal    boolean     NOT NULL,
    submitted_at       timestamptz NOT NULL,
    concluded_at       timestamptz,
    conclusion         text
);
CREATE INDEX registrations_person ON incentives.registrations (person_key);

CREATE TABLE incentives.assessment_outcomes (
    source_event_id uuid PRIMARY KEY,
    application_id  text        NOT NULL,
    body_id         text        NOT NULL,
    passed          boolean     NOT NULL,
    occurred_at     timestamptz NOT NULL
);
CREATE INDEX assessment_outcomes_body ON incentives.assessment_outcomes (body_id);

CREATE TABLE incentives.score_edits (
    source_event_id uuid PRIMARY KEY,
    application_id  text        NOT NULL,
    component       text        NOT NULL,
    reason          text        NOT NULL,
    occurred_at     timestamptz NOT NULL
);
CREATE INDEX score_edits_application ON incentives.score_edits (application_id);

CREATE TABLE incentives.certificates (
    certificate_number text PRIMARY KEY,
    person_key         text        NOT NULL,
    application_id     text        NOT NULL,
    body_id            text        NOT NULL,
    occupation_code    text        NOT NULL,
    level              smallint    NOT NULL,
    issued_on          date        NOT NULL,
    route              text        NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE incentives.revocations (
    certificate_number text PRIMARY KEY,
    revoked_on         date        NOT NULL,
    reason             text        NOT NULL,
    received_at        timestamptz NOT NULL DEFAULT now()
);

-- Snapshots from the unemployment-insurance system: months contributed as of a date.
CREATE TABLE incentives.insurance_records (
    person_key      text        NOT NULL,
    as_of           date        NOT NULL,
    insured_months  integer     NOT NULL CHECK (insured_months >= 0),
    source          text        NOT NULL CHECK (source IN ('api', 'csv')),
    loaded_by       text        NOT NULL,
    loaded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_key, as_of)
);

CREATE TABLE incentives.training_subsidies (
    certificate_number text PRIMARY KEY,
    amount_fen         bigint      NOT NULL CHECK (amount_fen > 0),
    granted_on         date        NOT NULL,
    source             text        NOT NULL CHECK (source IN ('api', 'csv')),
    loaded_by          text        NOT NULL,
    loaded_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE incentives.claims (
    claim_id           text PRIMARY KEY,
    kind               text        NOT NULL CHECK (kind IN ('skill_upgrade', 'appraisal')),
    person_key         text        NOT NULL,
    certificate_number text        NOT NULL,
    occupation_code    text        NOT NULL,
    level              smallint    NOT NULL,
    claimed_on         date        NOT NULL,
    status             text        NOT NULL
        CHECK (status IN ('granted', 'refused', 'held', 'rejected', 'clawed_back')),
    amount_fen         bigint      NOT NULL CHECK (amount_fen >= 0),
    rule               text,
    reason             text        NOT NULL,
    rule_version       text        NOT NULL,
    signals            jsonb       NOT NULL DEFAULT '[]',
    correlation_id     text        NOT NULL,
    decided_at         timestamptz NOT NULL DEFAULT now(),
    reviewed_by        text,
    review_reason      text,
    reviewed_at        timestamptz
);
CREATE INDEX claims_person ON incentives.claims (person_key, kind, status);
CREATE INDEX claims_certificate ON incentives.claims (certificate_number);
CREATE INDEX claims_held ON incentives.claims (decided_at) WHERE status = 'held';

-- The payment ledger: a payment and its claw-back are two rows, so the sum per claim is
-- what was really paid and nothing is ever paid twice (one row per claim and kind).
CREATE TABLE incentives.payments (
    entry_id    bigserial PRIMARY KEY,
    claim_id    text        NOT NULL REFERENCES incentives.claims (claim_id),
    person_key  text        NOT NULL,
    entry_kind  text        NOT NULL CHECK (entry_kind IN ('paid', 'clawed_back')),
    amount_fen  bigint      NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (claim_id, entry_kind),
    CHECK ((entry_kind = 'paid') = (amount_fen > 0))
);

CREATE TABLE incentives.rewards (
    person_key     text        NOT NULL,
    competition_id text        NOT NULL,
    tier           text        NOT NULL,
    medal          text        NOT NULL,
    amount_fen     bigint      NOT NULL CHECK (amount_fen > 0),
    rule_version   text        NOT NULL,
    competed_on    date        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_key, competition_id)
);

CREATE TABLE incentives.promotions (
    promotion_id    text PRIMARY KEY,
    person_key      text        NOT NULL,
    competition_id  text        NOT NULL,
    occupation_code text        NOT NULL,
    to_level        smallint    NOT NULL,
    granted_on      date        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('started', 'refused')),
    rule            text,
    rule_version    text        NOT NULL,
    workflow_id     text,
    decided_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promotions_person_year ON incentives.promotions (person_key, granted_on)
    WHERE status = 'started';
