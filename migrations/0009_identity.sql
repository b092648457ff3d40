-- Resident identity: whose face is it. A camera watches one or more residents (camera_residents); a resident
-- enrolled with face templates (face_templates, under a recorded consent: identity_consents) is recognised
-- among the faces a camera sees, and any other face is stored as unknown (resident_id NULL), which no alert
-- reads. docs/privacy.md says what is kept and why; docs/worker.md how faces are matched.

-- The consent under which a resident's templates were taken: who gave it, when, on whose behalf (the resident
-- themselves, or e.g. their attorney for health and welfare), and who recorded it. Erasing the resident or
-- removing the enrolment deletes it with the templates; the audit log keeps that it happened (ids only).
CREATE TABLE identity_consents (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resident_id  bigint NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    given_by     text NOT NULL CHECK (length(btrim(given_by)) BETWEEN 1 AND 200),
    given_at     timestamptz NOT NULL,
    on_behalf_of text NOT NULL CHECK (length(btrim(on_behalf_of)) BETWEEN 1 AND 200),
    recorded_by  text NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 200),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX identity_consents_resident_idx ON identity_consents (resident_id);

-- One 128-d face template (dlib's ResNet descriptor) per enrolment photo; never the photo itself.
CREATE TABLE face_templates (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resident_id  bigint NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    consent_id   bigint NOT NULL REFERENCES identity_consents (id) ON DELETE CASCADE,
    template     real[] NOT NULL CHECK (cardinality(template) = 128 AND array_ndims(template) = 1),
    model        text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
    taken_at     timestamptz NOT NULL DEFAULT now(),
    enrolled_by  text NOT NULL CHECK (length(enrolled_by) BETWEEN 1 AND 200)
);
CREATE INDEX face_templates_resident_idx ON face_templates (resident_id);

-- The residents a camera watches. cameras.resident_id stays: it is the first of them (the one a camera whose
-- residents are not enrolled attributes every face to, as before), kept in step by affectwatch/queries/cameras.py.
CREATE TABLE camera_residents (
    camera_id    bigint NOT NULL REFERENCES cameras (id) ON DELETE CASCADE,
    resident_id  bigint NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    position     smallint NOT NULL DEFAULT 0 CHECK (position >= 0),
    PRIMARY KEY (camera_id, resident_id)
);
CREATE INDEX camera_residents_resident_idx ON camera_residents (resident_id);
INSERT INTO camera_residents (camera_id, resident_id, position)
SELECT id, resident_id, 0 FROM cameras WHERE resident_id IS NOT NULL;

-- How each face got its resident: 'assumed' (the camera's residents are not enrolled: every face is the
-- camera's resident, as before identity), 'identified' (matched a template within the threshold, at
-- match_distance), 'unknown' (matched none: resident_id is NULL; match_distance is the nearest template's).
ALTER TABLE faces ADD COLUMN identity text NOT NULL DEFAULT 'assumed'
    CHECK (identity IN ('assumed', 'identified', 'unknown'));
ALTER TABLE faces ADD COLUMN match_distance real CHECK (match_distance >= 0);

-- The audit log records enrolments and their removal.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('view', 'export', 'erase', 'snapshot', 'enrol', 'unenrol'));

-- Analytics: whether a face was identified, and the residents of each camera (columns appended).
CREATE OR REPLACE VIEW analytics.cameras AS
SELECT c.id AS camera_id, c.name AS camera_name, c.location, c.enabled, c.sample_fps,
       c.resident_id, r.name AS resident_name, c.created_at,
       coalesce((SELECT array_agg(cr.resident_id ORDER BY cr.position, cr.resident_id)
                   FROM camera_residents cr WHERE cr.camera_id = c.id), '{}') AS resident_ids,
       EXISTS (SELECT 1 FROM camera_residents cr JOIN face_templates t ON t.resident_id = cr.resident_id
                WHERE cr.camera_id = c.id) AS identifies
FROM cameras c LEFT JOIN residents r ON r.id = c.resident_id;

CREATE OR REPLACE VIEW analytics.faces AS
SELECT f.captured_at,
       f.captured_at AT TIME ZONE s.timezone AS local_time,
       (f.captured_at AT TIME ZONE s.timezone)::date AS local_date,
       extract(hour FROM f.captured_at AT TIME ZONE s.timezone)::integer AS local_hour,
       extract(isodow FROM f.captured_at AT TIME ZONE s.timezone)::integer AS local_weekday,
       f.resident_id, r.name AS resident_name, r.room,
       f.camera_id, c.name AS camera_name, c.location,
       f.expression, f.confidence::double precision AS confidence,
       f.expression = ANY (s.negative_labels) AS negative,
       affectwatch_negative_sum(s.negative_labels, f.p_anger, f.p_contempt, f.p_disgust, f.p_fear, f.p_happy,
                                f.p_neutral, f.p_sad, f.p_surprise) AS p_negative,
       f.p_anger::double precision AS p_anger, f.p_contempt::double precision AS p_contempt,
       f.p_disgust::double precision AS p_disgust, f.p_fear::double precision AS p_fear,
       f.p_happy::double precision AS p_happy, f.p_neutral::double precision AS p_neutral,
       f.p_sad::double precision AS p_sad, f.p_surprise::double precision AS p_surprise,
       f.det_prob::double precision AS det_prob, f.model, f.frame_id, f.face_index,
       f.identity, f.identity = 'identified' AS identified,
       f.match_distance::double precision AS match_distance
FROM faces f
CROSS JOIN history_site s
LEFT JOIN residents r ON r.id = f.resident_id
LEFT JOIN cameras c ON c.id = f.camera_id;

-- Least privilege: workers read templates and camera residents; the dashboard enrols and removes; analysts
-- see none of it but the views above (templates are biometric data).
GRANT SELECT ON TABLE face_templates, identity_consents, camera_residents TO affectwatch_worker;
GRANT SELECT ON TABLE camera_residents TO affectwatch_producer;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE face_templates, identity_consents, camera_residents
    TO affectwatch_dashboard;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO affectwatch_analyst, affectwatch_dashboard;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO affectwatch_worker, affectwatch_dashboard;
