-- Faces worth reading (docs/alerts.md): a face the classifier cannot be trusted on (too small, blurred,
-- turned away, weakly detected, or read without confidence) is still stored, with the reason it does not
-- count, and the alert rule skips it. NULL: the face counts.
ALTER TABLE faces ADD COLUMN uncounted_reason text
    CHECK (uncounted_reason IS NULL OR length(uncounted_reason) BETWEEN 1 AND 200);

-- Sustained means time: per-resident overrides of the span a window's faces must cover and the distinct
-- minutes they must fall in (NULL: the configured default).
ALTER TABLE resident_alert_thresholds
    ADD COLUMN min_span_seconds integer CHECK (min_span_seconds BETWEEN 0 AND 86400),
    ADD COLUMN min_minutes integer CHECK (min_minutes BETWEEN 0 AND 1440);

-- analytics.faces as in 0009, with whether each face counted towards alerts and why not (new columns last).
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
       f.match_distance::double precision AS match_distance,
       f.uncounted_reason IS NULL AS counted, f.uncounted_reason
FROM faces f
CROSS JOIN history_site s
LEFT JOIN residents r ON r.id = f.resident_id
LEFT JOIN cameras c ON c.id = f.camera_id;
