-- Faster history views (bench/history): the aggregates store what depends on the site settings (local date,
-- hour and weekday of each hour; the negative count and probability), a daily roll-up per resident is kept
-- beside them, and history_site no longer hides its row in scalar subqueries (which kept the planner from
-- inlining affectwatch_negative_sum: a function call per row). When the time zone or the negative labels
-- change, a trigger recomputes the stored columns from the hourly counts (no raw rows needed).

CREATE OR REPLACE VIEW history_site AS
SELECT coalesce(s.timezone, 'UTC') AS timezone,
       coalesce(s.negative_labels, ARRAY['anger', 'contempt', 'disgust', 'fear', 'sad']) AS negative_labels,
       s.refreshed_at
FROM (VALUES (true)) AS one (id)
LEFT JOIN history_settings s ON s.id = one.id;

ALTER TABLE face_hourly
    ADD COLUMN local_date      date,
    ADD COLUMN local_hour      smallint,
    ADD COLUMN local_weekday   smallint,
    ADD COLUMN negative_faces  integer,
    ADD COLUMN p_negative      double precision;
CREATE INDEX face_hourly_local_date_idx ON face_hourly (local_date);
CREATE INDEX face_hourly_resident_date_idx ON face_hourly (resident_id, local_date);

ALTER TABLE frame_hourly
    ADD COLUMN local_date      date,
    ADD COLUMN local_hour      smallint,
    ADD COLUMN negative_faces  integer;

-- Faces per resident and local day, rolled up from face_hourly.
CREATE TABLE face_daily (
    local_date      date NOT NULL,
    resident_id     bigint NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    faces           bigint NOT NULL CHECK (faces > 0),
    n_anger         bigint NOT NULL,
    n_contempt      bigint NOT NULL,
    n_disgust       bigint NOT NULL,
    n_fear          bigint NOT NULL,
    n_happy         bigint NOT NULL,
    n_neutral       bigint NOT NULL,
    n_sad           bigint NOT NULL,
    n_surprise      bigint NOT NULL,
    p_anger         double precision,
    p_contempt      double precision,
    p_disgust       double precision,
    p_fear          double precision,
    p_happy         double precision,
    p_neutral       double precision,
    p_sad           double precision,
    p_surprise      double precision,
    negative_faces  bigint NOT NULL,
    p_negative      double precision,
    PRIMARY KEY (resident_id, local_date)
);
CREATE INDEX face_daily_date_idx ON face_daily (local_date);

-- Count each camera-hour's negative faces (from face_hourly) into frame_hourly, for hours in [p_lo, p_hi).
CREATE FUNCTION affectwatch_count_frame_negatives(p_lo timestamptz, p_hi timestamptz) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE frame_hourly f SET negative_faces = n.negative_faces
      FROM (SELECT bucket, coalesce(camera_id, 0) AS camera, sum(negative_faces) AS negative_faces
              FROM face_hourly WHERE bucket >= p_lo AND bucket < p_hi GROUP BY 1, 2) n
     WHERE f.bucket = n.bucket AND coalesce(f.camera_id, 0) = n.camera AND f.bucket >= p_lo AND f.bucket < p_hi
       AND f.negative_faces IS DISTINCT FROM n.negative_faces;
$$;

-- Recompute face_daily for every local day the hours [p_lo, p_hi) touch.
CREATE FUNCTION affectwatch_rollup_days(p_lo timestamptz, p_hi timestamptz) RETURNS void
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
     GROUP BY local_date, resident_id;
END;
$$;

-- Recompute the settings-dependent columns of the hours in [p_lo, p_hi) (after a change of settings).
CREATE FUNCTION affectwatch_localize_span(p_lo timestamptz, p_hi timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    tz text;
    neg text[];
BEGIN
    SELECT timezone, negative_labels INTO tz, neg FROM history_site;
    UPDATE face_hourly
       SET local_date = (bucket AT TIME ZONE tz)::date,
           local_hour = extract(hour FROM bucket AT TIME ZONE tz),
           local_weekday = extract(isodow FROM bucket AT TIME ZONE tz),
           negative_faces = affectwatch_negative_sum(neg, n_anger, n_contempt, n_disgust, n_fear, n_happy,
                                                     n_neutral, n_sad, n_surprise)::integer,
           p_negative = affectwatch_negative_sum(neg, p_anger, p_contempt, p_disgust, p_fear, p_happy,
                                                 p_neutral, p_sad, p_surprise)
     WHERE bucket >= p_lo AND bucket < p_hi;
    UPDATE frame_hourly
       SET local_date = (bucket AT TIME ZONE tz)::date, local_hour = extract(hour FROM bucket AT TIME ZONE tz),
           negative_faces = 0
     WHERE bucket >= p_lo AND bucket < p_hi;
    PERFORM affectwatch_count_frame_negatives(p_lo, p_hi);
    PERFORM affectwatch_rollup_days(p_lo, p_hi);
END;
$$;

-- The refresh's recomputation of the hours in [p_lo, p_hi), now with the stored columns and the roll-up.
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
                   sum(p_anger) AS p_anger, sum(p_contempt) AS p_contempt, sum(p_disgust) AS p_disgust,
                   sum(p_fear) AS p_fear, sum(p_happy) AS p_happy, sum(p_neutral) AS p_neutral,
                   sum(p_sad) AS p_sad, sum(p_surprise) AS p_surprise, sum(confidence) AS confidence
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
                   sum(latency_ms) AS latency_ms
              FROM frames
             WHERE captured_at >= p_lo AND captured_at < p_hi
             GROUP BY 1, 2) a
     CROSS JOIN history_site s;
    SELECT affectwatch_count_frame_negatives(p_lo, p_hi);
    SELECT affectwatch_rollup_days(p_lo, p_hi);
$$;

-- A refresh's spans are whole hours; deleting then re-adding the days they touch needs no other change.
-- A change of time zone or negative labels recomputes every stored column and the daily roll-up.
CREATE FUNCTION affectwatch_settings_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.timezone IS DISTINCT FROM OLD.timezone
       OR NEW.negative_labels IS DISTINCT FROM OLD.negative_labels THEN
        PERFORM affectwatch_localize_span('-infinity', 'infinity');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER history_settings_changed AFTER INSERT OR UPDATE OR DELETE ON history_settings
    FOR EACH ROW EXECUTE FUNCTION affectwatch_settings_changed();

SELECT affectwatch_localize_span('-infinity', 'infinity');

-- The views read the stored columns (same columns as 0004's, so nothing that uses them changes).
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
       h.negative_faces::double precision / h.faces AS negative_share,
       h.p_negative / h.faces AS mean_p_negative,
       h.confidence / h.faces AS mean_confidence
FROM face_hourly h
CROSS JOIN history_site s
LEFT JOIN residents r ON r.id = h.resident_id
LEFT JOIN cameras c ON c.id = h.camera_id;

CREATE OR REPLACE VIEW analytics.resident_daily AS
SELECT d.local_date, d.resident_id, r.name AS resident_name, d.faces,
       d.n_anger, d.n_contempt, d.n_disgust, d.n_fear, d.n_happy, d.n_neutral, d.n_sad, d.n_surprise,
       d.n_anger::double precision / d.faces AS share_anger,
       d.n_contempt::double precision / d.faces AS share_contempt,
       d.n_disgust::double precision / d.faces AS share_disgust,
       d.n_fear::double precision / d.faces AS share_fear,
       d.n_happy::double precision / d.faces AS share_happy,
       d.n_neutral::double precision / d.faces AS share_neutral,
       d.n_sad::double precision / d.faces AS share_sad,
       d.n_surprise::double precision / d.faces AS share_surprise,
       d.negative_faces,
       d.negative_faces::double precision / d.faces AS negative_share,
       d.p_negative / d.faces AS mean_p_negative
FROM face_daily d
JOIN residents r ON r.id = d.resident_id;

CREATE OR REPLACE VIEW analytics.camera_hourly AS
SELECT fr.bucket AS hour_start,
       fr.bucket AT TIME ZONE s.timezone AS local_time,
       fr.local_date,
       fr.local_hour::integer AS local_hour,
       fr.camera_id, c.name AS camera_name, c.location,
       fr.frames, fr.processed AS processed_frames, fr.expired AS expired_frames, fr.frames_with_faces,
       fr.faces,
       fr.negative_faces,
       fr.negative_faces::double precision / nullif(fr.faces, 0) AS negative_share,
       fr.latency_ms / fr.frames AS mean_latency_ms
FROM frame_hourly fr
CROSS JOIN history_site s
LEFT JOIN cameras c ON c.id = fr.camera_id;

-- 0004's policy with face_daily; the new functions run only as the owner.
CREATE OR REPLACE FUNCTION affectwatch_apply_grants() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    g record;
BEGIN
    FOR g IN
        SELECT v.role, v.privileges, t.name
          FROM (VALUES
                ('affectwatch_worker', 'SELECT, INSERT', 'frames,faces'),
                ('affectwatch_worker', 'SELECT', 'residents,cameras,camera_status,monitoring_pauses,'
                                                 || 'resident_alert_thresholds,alert_webhooks,history_settings'),
                ('affectwatch_worker', 'SELECT, INSERT, UPDATE', 'alerts,alert_events,alert_deliveries'),
                ('affectwatch_worker', 'SELECT, INSERT, UPDATE, DELETE', 'alert_baselines'),
                ('affectwatch_producer', 'SELECT', 'cameras,residents,monitoring_pauses'),
                ('affectwatch_producer', 'SELECT, INSERT, UPDATE', 'camera_status'),
                ('affectwatch_dashboard', 'SELECT, INSERT, UPDATE, DELETE',
                 'residents,cameras,users,user_sessions,login_failures,monitoring_pauses,'
                 || 'resident_alert_thresholds,alerts,alert_events,alert_deliveries,alert_webhooks'),
                ('affectwatch_dashboard', 'SELECT',
                 'camera_status,frames,faces,face_hourly,frame_hourly,face_daily,history_settings,alert_baselines')
               ) AS v (role, privileges, tables)
         CROSS JOIN LATERAL unnest(string_to_array(v.tables, ',')) AS t (name)
    LOOP
        IF to_regclass(format('public.%I', g.name)) IS NOT NULL THEN
            EXECUTE format('GRANT %s ON TABLE public.%I TO %I', g.privileges, g.name, g.role);
        END IF;
    END LOOP;
    GRANT USAGE ON SCHEMA analytics TO affectwatch_analyst, affectwatch_dashboard;
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO affectwatch_analyst, affectwatch_dashboard;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO affectwatch_worker, affectwatch_dashboard;
    REVOKE ALL ON FUNCTION affectwatch_ensure_partitions(date, integer) FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_create_partition(text, date) FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_refresh_history() FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_aggregate_span(timestamptz, timestamptz) FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_localize_span(timestamptz, timestamptz) FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_count_frame_negatives(timestamptz, timestamptz) FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_rollup_days(timestamptz, timestamptz) FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_mark_inserted_hours() FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_mark_updated_hours() FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_settings_changed() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION affectwatch_ensure_partitions(date, integer) TO affectwatch_worker;
END;
$$;
REVOKE ALL ON FUNCTION affectwatch_apply_grants() FROM PUBLIC;
SELECT affectwatch_apply_grants();
