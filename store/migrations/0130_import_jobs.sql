-- Bulk imports (registrations, scores) as durable jobs: the API stores the file's rows
-- here and starts an ImportWorkflow that is given only the job id and row ranges, so no
-- ID number reaches Temporal. A job's id derives from (session, kind, SHA-256 of the
-- file): the same file sent twice finds the same job.
CREATE SCHEMA IF NOT EXISTS imports;

CREATE TABLE imports.jobs (
    job_id        text PRIMARY KEY,
    session_id    text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('registrations', 'scores')),
    file_sha256   text NOT NULL,
    total         integer NOT NULL CHECK (total >= 0),
    -- The day admission judges (closing dates, ages): fixed when the file arrives, so a
    -- batch retried after midnight decides as the first attempt would have.
    judged_on     date NOT NULL,
    submitted_by  text NOT NULL,
    submitted_at  timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);
CREATE INDEX import_jobs_by_session ON imports.jobs (session_id);

-- One row per data row. Its cells (an ID number among them) are kept sealed under the
-- payload key ring until the row is decided, then dropped: the answer (status, the
-- application id, the rules broken) is what the centre reads afterwards, and it carries
-- no cell value.
CREATE TABLE imports.rows (
    job_id          text NOT NULL REFERENCES imports.jobs ON DELETE CASCADE,
    row_number      integer NOT NULL,
    cells_sealed    bytea,
    status          text CHECK (status IN ('accepted', 'unchanged', 'rejected')),
    application_id  text,
    stage           text,
    errors          jsonb NOT NULL DEFAULT '[]'::jsonb,
    decided_at      timestamptz,
    PRIMARY KEY (job_id, row_number),
    CHECK ((status IS NULL) = (decided_at IS NULL)),
    CHECK (status IS NULL OR cells_sealed IS NULL)
);
