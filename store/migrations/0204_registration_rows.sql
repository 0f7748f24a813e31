-- A registration as the incentive service's batch handler sends it: one array of these rows
-- is one parameter, encoded per row, instead of a dozen column arrays encoded per value
-- (the column arrays cost more client CPU than the rows they carried at exam-day rates).
CREATE TYPE incentives.registration_row AS (
    application_id     text,
    person_key         text,
    session_id         text,
    body_id            text,
    occupation_code    text,
    level              smallint,
    candidate_age      smallint,
    candidate_category text,
    appraisal_fee_fen  bigint,
    first_appraisal    boolean,
    submitted_at       timestamptz
);
