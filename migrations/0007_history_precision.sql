-- The probabilities, confidences and latencies are real (4-byte floats), and sum(real) adds in 4-byte
-- precision: an hour of a busy camera lost about a millionth. The aggregates now add them as double
-- precision. Hours refreshed before keep their (slightly rounded) sums until they are recomputed
-- (`affectwatch aggregates refresh --full` recomputes every hour that still has raw rows).
CREATE OR REPLACE FUNCTION affectwatch_aggregate_span(p_lo timestamptz, p_hi timestamptz) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO face_hourly (bucket, resident_id, camera_id, faces, n_anger, n_contempt, n_disgust, n_fear, n_happy,
                             n_neutral, n_sad, n_surprise, p_anger, p_contempt, p_disgust, p_fear, p_happy,
                             p_neutral, p_sad, p_surprise, confidence, local_date, local_hour, local_weekday,
                             negative_faces, p_negative)
    SELECT a.*, (a.bucket AT TIME ZONE s.timezone)::date, extract(hour FROM a.bucket AT TIME ZONE s.timezone),
           extract(isodow FROM a.bucket AT TIME ZONE s.timezone),
           affectwatch_negative_sum(s.negative_labels, a.n_anger, a.n_contempt, a.n_disgust, a.n_fear, a.n_happy,
                                    a.n_neutral, a.n_sad, a.n_surprise)::integer,
           affectwatch_negative_sum(s.negative_labels, a.p_anger, a.p_contempt, a.p_disgust, a.p_fear, a.p_happy,
                                    a.p_neutral, a.p_sad, a.p_surprise)
      FROM (SELECT date_trunc('hour', captured_at, 'UTC') AS bucket, resident_id, camera_id, count(*) AS faces,
                   count(*) FILTER (WHERE expression = 'anger') AS n_anger,
                   count(*) FILTER (WHERE expression = 'contempt') AS n_contempt,
                   count(*) FILTER (WHERE expression = 'disgust') AS n_disgust,
                   count(*) FILTER (WHERE expression = 'fear') AS n_fear,
                   count(*) FILTER (WHERE expression = 'happy') AS n_happy,
                   count(*) FILTER (WHERE expression = 'neutral') AS n_neutral,
                   count(*) FILTER (WHERE expression = 'sad') AS n_sad,
                   count(*) FILTER (WHERE expression = 'surprise') AS n_surprise,
                   sum(p_anger::float8) AS p_anger, sum(p_contempt::float8) AS p_contempt,
                   sum(p_disgust::float8) AS p_disgust, sum(p_fear::float8) AS p_fear,
                   sum(p_happy::float8) AS p_happy, sum(p_neutral::float8) AS p_neutral,
                   sum(p_sad::float8) AS p_sad, sum(p_surprise::float8) AS p_surprise,
                   sum(confidence::float8) AS confidence
              FROM faces
             WHERE captured_at >= p_lo AND captured_at < p_hi
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
