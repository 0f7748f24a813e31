-- A registration is saved first and its workflow started after the commit. A process that
-- stops in between leaves a saved registration nobody drives; this column tells them
-- apart, so start-up and the session workflow can start what was left.
ALTER TABLE certification.applications ADD COLUMN workflow_started_at timestamptz;
UPDATE certification.applications SET workflow_started_at = submitted_at;
CREATE INDEX applications_workflow_unstarted
    ON certification.applications (session_id) WHERE workflow_started_at IS NULL;
