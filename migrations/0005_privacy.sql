-- Privacy: who looked at, exported or erased a resident's data (audit_log), and the optional face-crop
-- snapshot of an alert (alert_snapshots), kept 72 hours at most. docs/privacy.md describes both.

-- One row per access to a resident's data. No foreign keys: the log outlives the staff account and the
-- erased resident, and says who erased whom. It holds ids and account names, never a resident's name.
-- The column is subject_resident, not resident_id, so that erasing a resident leaves the log alone.
CREATE TABLE audit_log (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                timestamptz NOT NULL DEFAULT now(),
    actor             text NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    actor_user_id     bigint,
    action            text NOT NULL CHECK (action IN ('view', 'export', 'erase', 'snapshot')),
    subject_resident  bigint NOT NULL,
    what              text NOT NULL DEFAULT '' CHECK (length(what) <= 500),
    remote_addr       text NOT NULL DEFAULT '' CHECK (length(remote_addr) <= 100)
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_resident, at DESC);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

-- At most one snapshot per alert: the face crop of the most negative face of the job that found the
-- alert open. The CHECK makes a snapshot kept longer than 72 hours impossible to store.
CREATE TABLE alert_snapshots (
    alert_id     bigint PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    resident_id  bigint NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    frame_id     uuid NOT NULL,
    captured_at  timestamptz NOT NULL,
    taken_at     timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    jpeg         bytea NOT NULL CHECK (length(jpeg) BETWEEN 1 AND 1000000),
    CHECK (expires_at > taken_at AND expires_at <= taken_at + interval '72 hours')
);
CREATE INDEX alert_snapshots_expiry_idx ON alert_snapshots (expires_at);
CREATE INDEX alert_snapshots_resident_idx ON alert_snapshots (resident_id);

-- Least privilege (the roles of 0004): the dashboard appends to the log and reads it, never changes it;
-- the worker takes and purges snapshots; the dashboard shows them.
GRANT SELECT, INSERT ON TABLE audit_log TO affectwatch_dashboard;
GRANT SELECT, INSERT, DELETE ON TABLE alert_snapshots TO affectwatch_worker;
GRANT SELECT ON TABLE alert_snapshots TO affectwatch_dashboard;
