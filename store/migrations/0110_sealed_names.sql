-- Names at rest are sealed (AES-256-GCM under the payload key ring, store/sealed.py): one
-- bytea each, opened only where the product shows the name. The clear columns go: nothing
-- read them, and SQL cannot seal (the key is not the database's), so names recorded before
-- this migration are dropped rather than kept in clear. holder_name_masked stays as it is.
ALTER TABLE certification.applications ADD COLUMN holder_name_sealed bytea;
ALTER TABLE certification.applications DROP COLUMN holder_name;

-- Examiners keep their grade, employers and relations (conflict checks need them) but not
-- their names, which move to one sealed JSON object {examiner_id: name} per session.
ALTER TABLE certification.sessions ADD COLUMN examiner_names_sealed bytea;
UPDATE certification.sessions
   SET examiners = (SELECT coalesce(jsonb_agg(e - 'name' ORDER BY i), '[]'::jsonb)
                      FROM jsonb_array_elements(examiners) WITH ORDINALITY AS t(e, i));
