-- Certificates from before SkillFlow: other years, other provinces, other systems, imported
-- by the records officer after checking them (e.g. against the national query). The number
-- is kept exactly as written (older forms are not the 22-character national one), the
-- holder is their person key, and where the certificate was checked travels with it.
CREATE TABLE certification.prior_certificates (
    certificate_number text PRIMARY KEY
        CHECK (certificate_number = btrim(certificate_number) AND length(certificate_number) <= 40),
    person_key         char(64)    NOT NULL,
    holder_name_masked text        NOT NULL,
    occupation_code    text        NOT NULL,
    level              smallint    NOT NULL CHECK (level BETWEEN 1 AND 5),
    issuing_body       text        NOT NULL,
    issued_on          date        NOT NULL,
    checked_against    text        NOT NULL,
    checked_on         date        NOT NULL,
    imported_by        text        NOT NULL,
    imported_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX prior_certificates_person ON certification.prior_certificates (person_key);

-- Every certificate a person holds, issued here or imported: what eligibility reads, so an
-- imported certificate counts wherever an issued one does, in one query.
CREATE VIEW certification.held_certificates AS
SELECT certificate_number::text AS certificate_number, person_key, occupation_code, level,
       issued_on, status, 'issued'::text AS source
FROM certification.certificates
UNION ALL
SELECT certificate_number, person_key, occupation_code, level, issued_on, 'valid', 'imported'
FROM certification.prior_certificates;

-- The archive's register says where each certificate came from. Adding a column rewrites
-- no row, so the append-only triggers stay as they are.
ALTER TABLE records.certificates
    ADD COLUMN source text NOT NULL DEFAULT 'issued' CHECK (source IN ('issued', 'imported')),
    ADD COLUMN provenance jsonb;
