-- Each registration looks for a certificate that arrived before it (different topics),
-- whose subsidy claims waited for the registration.
CREATE INDEX certificates_application ON incentives.certificates (application_id);
