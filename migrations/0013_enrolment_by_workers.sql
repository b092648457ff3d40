-- The dashboard runs no models: an enrolment uploaded there is carried out by a worker (the job
-- worker.enrolment.enrol_job), which stores the face templates with their consent and audits it.
-- The worker's role may add those rows, and of the audit log only its own enrolment entries (a row-level
-- policy; it reads back nothing but the new row's id): it still may not read the audit log, write any other
-- entry, or change templates. The dashboard keeps what 0005 and 0011 gave it; the owner, and the functions
-- that run as the owner (0011's audit triggers), are not bound by the policies.
GRANT INSERT ON TABLE face_templates, identity_consents TO affectwatch_worker;
GRANT INSERT, SELECT (id) ON TABLE audit_log TO affectwatch_worker;

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_dashboard ON audit_log TO affectwatch_dashboard USING (true) WITH CHECK (true);
CREATE POLICY audit_log_worker_enrols ON audit_log FOR INSERT TO affectwatch_worker
    WITH CHECK (action = 'enrol' AND subject_kind = 'resident');
CREATE POLICY audit_log_worker_reads_its_enrolments ON audit_log FOR SELECT TO affectwatch_worker
    USING (action = 'enrol');
