-- The dashboard runs no models: an enrolment uploaded there is carried out by a worker (the job
-- worker.enrolment.enrol_job), which stores the face templates with their consent and audits it.
-- The worker's role may add those rows (and read back the new audit row's id); it still may not read
-- the audit log or change templates.
GRANT INSERT ON TABLE face_templates, identity_consents TO affectwatch_worker;
GRANT INSERT, SELECT (id) ON TABLE audit_log TO affectwatch_worker;
