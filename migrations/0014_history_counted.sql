-- History counts the faces the alert rule counts: a face stored with an uncounted_reason (0010: too small,
-- blurred, turned away, weakly detected, read without confidence) no longer adds to an hour's faces, labels
-- and probabilities; each hour keeps how many faces it did not count (face_hourly.uncounted, shown in
-- analytics.expression_hourly). Hours aggregated before are unchanged: their faces all counted (0010 came
-- with the gates). An hour can now hold uncounted faces only (faces 0): its shares are NULL.
ALTER TABLE face_hourly ADD COLUMN uncounted integer NOT NULL DEFAULT 0 CHECK (uncounted >= 0);
ALTER TABLE face_hourly DROP CONSTRAINT face_hourly_faces_check;
ALTER TABLE face_hourly ADD CONSTRAINT face_hourly_faces_check CHECK (faces >= 0 AND faces + uncounted > 0);

CREATE OR REPLACE FUNCTION affectwatch_aggregate_span(p_lo timestamptz, p_hi timestamptz) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO face_hourly (bucket, resident_id, camera_id, faces, n_anger, n_contempt, n_disgust, n_fear, n_happy,
                             n_neutral, n_sad, n_surprise, p_anger, p_contempt, p_disgust, p_fear, p_happy,
                             p_neutral, p_sad, p_surprise, confidence, uncounted, local_date, local_hour,
                             local_weekday, negative_faces, p_negative)
    SELECT a.*, (a.bucket AT TIME ZONE s.timezone)::date, extract(hour FROM a.bucket AT TIME ZONE s.timezone),
           extract(isodow FROM a.bucket AT TIME ZONE s.timezone),
           affectwatch_negative_sum(s.negative_labels, a.n_anger, a.n_contempt, a.n_disgust, a.n_fear, a.n_happy,
                                    a.n_neutral, a.n_sad, a.n_surprise)::integer,
           affectwatch_negative_sum(s.negative_labels, a.p_anger, a.p_contempt, a.p_disgust, a.p_fear, a.p_happy,
                                    a.p_neutral, a.p_sad, a.p_surprise)
      FROM (SELECT date_trunc('hour', captured_at, 'UTC') AS bucket, resident_id, camera_id,
                   count(*) FILTER (WHERE counts) AS faces,
                   count(*) FILTER (WHERE counts AND expression = 'anger') AS n_anger,
                   count(*) FILTER (WHERE counts AND expression = 'contempt') AS n_contempt,
                   count(*) FILTER (WHERE counts AND expression = 'disgust') AS n_disgust,
                   count(*) FILTER (WHERE counts AND expression = 'fear') AS n_fear,
                   count(*) FILTER (WHERE counts AND expression = 'happy') AS n_happy,
                   count(*) FILTER (WHERE counts AND expression = 'neutral') AS n_neutral,
                   count(*) FILTER (WHERE counts AND expression = 'sad') AS n_sad,
                   count(*) FILTER (WHERE counts AND expression = 'surprise') AS n_surprise,
                   sum(p_anger::float8) FILTER (WHERE counts) AS p_anger,
                   sum(p_contempt::float8) FILTER (WHERE counts) AS p_contempt,
                   sum(p_disgust::float8) FILTER (WHERE counts) AS p_disgust,
                   sum(p_fear::float8) FILTER (WHERE counts) AS p_fear,
                   sum(p_happy::float8) FILTER (WHERE counts) AS p_happy,
                   sum(p_neutral::float8) FILTER (WHERE counts) AS p_neutral,
                   sum(p_sad::float8) FILTER (WHERE counts) AS p_sad,
                   sum(p_surprise::float8) FILTER (WHERE counts) AS p_surprise,
                   coalesce(sum(confidence::float8) FILTER (WHERE counts), 0) AS confidence,
                   count(*) FILTER (WHERE NOT counts) AS uncounted
              FROM (SELECT *, uncounted_reason IS NULL AS counts FROM faces
                     WHERE captured_at >= p_lo AND captured_at < p_hi) f
             GROUP BY 1, 2, 3) a
     CROSS JOIN history_site s;
    INSERT INTO frame_hourly (bucket, camera_id, frames, processed, expired, frames_with_faces, faces, latency_ms,
                              local_date, local_hour, negative_faces)
    SELECT a.*, (a.bucket AT TIME ZONE s.timezone)::date, extract(hour FROM a.bucket AT TIME ZONE s.timezone), 0
      FROM (SELECT date_trunc('hour', captured_at, 'UTC') AS bucket, camera_id, count(*) AS frames,
                   count(*) FILTER (WHERE status = 'processed') AS processed,
                   count(*) FILTER (WHERE status = 'expired') AS expired,
                   count(*) FILTER (WHERE n_faces > 0) AS frames_with_faces, sum(n_faces) AS faces,
                   sum(latency_ms::float8) AS latency_ms
              FROM frames
             WHERE captured_at >= p_lo AND captured_at < p_hi
             GROUP BY 1, 2) a
     CROSS JOIN history_site s;
    SELECT affectwatch_count_frame_negatives(p_lo, p_hi);
    SELECT affectwatch_rollup_days(p_lo, p_hi);
$$;

-- A day of a resident whose faces all went uncounted has no row in face_daily (its faces must be > 0).
CREATE OR REPLACE FUNCTION affectwatch_rollup_days(p_lo timestamptz, p_hi timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    tz text := (SELECT timezone FROM history_site);
    first_day date := (p_lo AT TIME ZONE tz)::date;
    last_day date := ((p_hi - interval '1 microsecond') AT TIME ZONE tz)::date;
BEGIN
    DELETE FROM face_daily WHERE local_date BETWEEN first_day AND last_day;
    INSERT INTO face_daily
    SELECT local_date, resident_id, sum(faces),
           sum(n_anger), sum(n_contempt), sum(n_disgust), sum(n_fear),
           sum(n_happy), sum(n_neutral), sum(n_sad), sum(n_surprise),
           sum(p_anger), sum(p_contempt), sum(p_disgust), sum(p_fear),
           sum(p_happy), sum(p_neutral), sum(p_sad), sum(p_surprise),
           sum(negative_faces), sum(p_negative)
      FROM face_hourly
     WHERE local_date BETWEEN first_day AND last_day AND resident_id IS NOT NULL
     GROUP BY local_date, resident_id
    HAVING sum(faces) > 0;
END;
$$;

-- As in 0006, with the hour's uncounted faces (last) and no division by an hour without counted faces.
CREATE OR REPLACE VIEW analytics.expression_hourly AS
SELECT h.bucket AS hour_start,
       h.bucket AT TIME ZONE s.timezone AS local_time,
       h.local_date,
       h.local_hour::integer AS local_hour,
       h.local_weekday::integer AS local_weekday,
       h.resident_id, r.name AS resident_name, h.camera_id, c.name AS camera_name, c.location,
       h.faces,
       h.n_anger, h.n_contempt, h.n_disgust, h.n_fear, h.n_happy, h.n_neutral, h.n_sad, h.n_surprise,
       h.negative_faces,
       h.negative_faces::double precision / nullif(h.faces, 0) AS negative_share,
       h.p_negative / nullif(h.faces, 0) AS mean_p_negative,
       h.confidence / nullif(h.faces, 0) AS mean_confidence,
       h.uncounted
FROM face_hourly h
CROSS JOIN history_site s
LEFT JOIN residents r ON r.id = h.resident_id
LEFT JOIN cameras c ON c.id = h.camera_id;
