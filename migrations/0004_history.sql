-- Expression history for people: site settings, partitions made ahead (rows caught by the default partition
-- moved into their month), hourly aggregates kept up to date from a log of changed hours, the `analytics`
-- schema of documented views, and the least-privilege group roles. docs/sql.md describes all of it.

-- The care home's time zone and negative labels, as the views use them. The history commands copy them from
-- AFFECTWATCH_TIMEZONE and AFFECTWATCH_NEGATIVE_LABELS; without a row the views use UTC and the default labels.
CREATE TABLE history_settings (
    id               boolean PRIMARY KEY DEFAULT true CHECK (id),
    timezone         text NOT NULL DEFAULT 'UTC' CHECK (length(timezone) BETWEEN 1 AND 100),
    negative_labels  text[] NOT NULL DEFAULT ARRAY['anger', 'contempt', 'disgust', 'fear', 'sad']
                     CHECK (negative_labels <@ ARRAY['anger', 'contempt', 'disgust', 'fear', 'happy', 'neutral',
                                                     'sad', 'surprise']),
    refreshed_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
INSERT INTO history_settings DEFAULT VALUES;

-- Always exactly one row: the settings, or their defaults.
CREATE VIEW history_site AS
SELECT coalesce((SELECT s.timezone FROM history_settings s), 'UTC') AS timezone,
       coalesce((SELECT s.negative_labels FROM history_settings s),
                ARRAY['anger', 'contempt', 'disgust', 'fear', 'sad']) AS negative_labels,
       (SELECT s.refreshed_at FROM history_settings s) AS refreshed_at;

-- Time-range scans (the aggregate refresh, retention, analysts' "last week" over every resident) without a
-- B-tree per partition: rows arrive in capture order, so a block-range index is tiny and selective.
CREATE INDEX faces_captured_brin ON faces USING brin (captured_at);
CREATE INDEX frames_captured_brin ON frames USING brin (captured_at);

-- Every partition of frames and faces with its bounds (NULL for the default partition).
CREATE VIEW affectwatch_partitions AS
SELECT p.relname::text AS parent,
       c.relname::text AS partition,
       b.expr = 'DEFAULT' AS is_default,
       (regexp_match(b.expr, $re$FROM \('([^']*)'\) TO \('([^']*)'\)$re$))[1]::timestamptz AS lower_bound,
       (regexp_match(b.expr, $re$FROM \('([^']*)'\) TO \('([^']*)'\)$re$))[2]::timestamptz AS upper_bound,
       greatest(c.reltuples, 0)::bigint AS estimated_rows,
       pg_total_relation_size(c.oid) AS bytes
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_class p ON p.oid = i.inhparent
CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS expr) b
WHERE p.relnamespace = 'public'::regnamespace AND p.relname IN ('frames', 'faces');

-- Create the partition of p_parent for the UTC month of p_month, moving into it any of the month's rows the
-- default partition caught (a plain CREATE ... PARTITION OF would fail on them). Returns 1 if it made one.
CREATE FUNCTION affectwatch_create_partition(p_parent text, p_month date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    part text := format('%s_%s', p_parent, to_char(p_month, 'YYYY_MM'));
    lo timestamptz := date_trunc('month', p_month::timestamp);
    hi timestamptz := date_trunc('month', p_month::timestamp) + interval '1 month';
BEGIN
    IF p_parent NOT IN ('frames', 'faces') THEN
        RAISE EXCEPTION 'not a partitioned history table: %', p_parent;
    END IF;
    IF to_regclass(part) IS NOT NULL THEN
        RETURN 0;
    END IF;
    -- Partitions made under another session time zone may reach into this month: fill only the gap.
    SELECT coalesce(max(upper_bound), lo) INTO lo FROM affectwatch_partitions
     WHERE parent = p_parent AND lower_bound <= lo AND upper_bound > lo;
    SELECT coalesce(min(lower_bound), hi) INTO hi FROM affectwatch_partitions
     WHERE parent = p_parent AND lower_bound < hi AND upper_bound >= hi;
    IF lo >= hi THEN
        RETURN 0;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, p_parent);
    IF to_regclass(p_parent || '_default') IS NOT NULL THEN
        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', p_parent || '_default');
        EXECUTE format('WITH moved AS (DELETE FROM %I WHERE captured_at >= $1 AND captured_at < $2 RETURNING *)'
                       ' INSERT INTO %I SELECT * FROM moved', p_parent || '_default', part) USING lo, hi;
    END IF;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', p_parent, part, lo, hi);
    RETURN 1;
END;
$$;

-- Replaces 0001's version: months in UTC whatever the caller's time zone, runnable by the worker role, and
-- every month the default partitions hold rows of gets its own partition too.
CREATE OR REPLACE FUNCTION affectwatch_ensure_partitions(p_from date, p_months integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    created integer := 0;
    parent text;
    month_start date;
BEGIN
    FOREACH parent IN ARRAY ARRAY['frames', 'faces'] LOOP
        FOR month_start IN
            SELECT (date_trunc('month', p_from::timestamp) + make_interval(months => i))::date
              FROM generate_series(0, p_months - 1) AS i
        LOOP
            created := created + affectwatch_create_partition(parent, month_start);
        END LOOP;
        IF to_regclass(parent || '_default') IS NOT NULL THEN
            FOR month_start IN EXECUTE format('SELECT DISTINCT date_trunc(''month'', captured_at)::date FROM %I',
                                              parent || '_default')
            LOOP
                created := created + affectwatch_create_partition(parent, month_start);
            END LOOP;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;

-- Hourly aggregates. A bucket is a UTC hour (views show it in the care home's time zone). They outlive raw
-- rows: retention of faces and frames leaves them; erasing a resident removes theirs (ON DELETE CASCADE);
-- camera_id has no foreign key so that history survives a removed camera.
CREATE TABLE face_hourly (
    bucket       timestamptz NOT NULL,
    resident_id  bigint REFERENCES residents (id) ON DELETE CASCADE,
    camera_id    bigint,
    faces        integer NOT NULL CHECK (faces > 0),
    n_anger      integer NOT NULL,
    n_contempt   integer NOT NULL,
    n_disgust    integer NOT NULL,
    n_fear       integer NOT NULL,
    n_happy      integer NOT NULL,
    n_neutral    integer NOT NULL,
    n_sad        integer NOT NULL,
    n_surprise   integer NOT NULL,
    p_anger      double precision,
    p_contempt   double precision,
    p_disgust    double precision,
    p_fear       double precision,
    p_happy      double precision,
    p_neutral    double precision,
    p_sad        double precision,
    p_surprise   double precision,
    confidence   double precision NOT NULL
);
CREATE UNIQUE INDEX face_hourly_key ON face_hourly (bucket, coalesce(resident_id, 0), coalesce(camera_id, 0));
CREATE INDEX face_hourly_resident_idx ON face_hourly (resident_id, bucket);
CREATE INDEX face_hourly_camera_idx ON face_hourly (camera_id, bucket);

CREATE TABLE frame_hourly (
    bucket             timestamptz NOT NULL,
    camera_id          bigint,
    frames             integer NOT NULL CHECK (frames > 0),
    processed          integer NOT NULL,
    expired            integer NOT NULL,
    frames_with_faces  integer NOT NULL,
    faces              integer NOT NULL,
    latency_ms         double precision
);
CREATE UNIQUE INDEX frame_hourly_key ON frame_hourly (bucket, coalesce(camera_id, 0));
CREATE INDEX frame_hourly_camera_idx ON frame_hourly (camera_id, bucket);

-- Hours whose raw rows changed since the last refresh: appended by statement triggers (no contention between
-- workers), claimed and recomputed by affectwatch_refresh_history(). Deleting raw rows marks nothing.
CREATE TABLE history_dirty_hours (
    bucket     timestamptz NOT NULL,
    marked_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION affectwatch_mark_inserted_hours() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO history_dirty_hours (bucket)
    SELECT DISTINCT date_trunc('hour', captured_at, 'UTC') FROM new_rows;
    RETURN NULL;
END;
$$;

CREATE FUNCTION affectwatch_mark_updated_hours() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO history_dirty_hours (bucket)
    SELECT date_trunc('hour', captured_at, 'UTC') FROM new_rows
     UNION
    SELECT date_trunc('hour', captured_at, 'UTC') FROM old_rows;
    RETURN NULL;
END;
$$;

CREATE TRIGGER faces_mark_inserted AFTER INSERT ON faces REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION affectwatch_mark_inserted_hours();
CREATE TRIGGER faces_mark_updated AFTER UPDATE ON faces REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION affectwatch_mark_updated_hours();
CREATE TRIGGER frames_mark_inserted AFTER INSERT ON frames REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION affectwatch_mark_inserted_hours();
CREATE TRIGGER frames_mark_updated AFTER UPDATE ON frames REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION affectwatch_mark_updated_hours();

-- Recompute the aggregates of every hour marked changed; returns how many hours. Safe beside writing workers:
-- a mark committed after this claims its hours stays for the next run. One refresh at a time.
CREATE FUNCTION affectwatch_refresh_history() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET timezone = 'UTC' AS $$
DECLARE
    hours timestamptz[];
    span record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('affectwatch_refresh_history'));
    WITH claimed AS (DELETE FROM history_dirty_hours RETURNING bucket)
    SELECT coalesce(array_agg(DISTINCT bucket), '{}') INTO hours FROM claimed;
    IF cardinality(hours) > 0 THEN
        DELETE FROM face_hourly WHERE bucket = ANY (hours);
        DELETE FROM frame_hourly WHERE bucket = ANY (hours);
        -- Consecutive hours form one range, so a rebuild of months is one scan, not one per hour.
        FOR span IN
            SELECT min(h) AS lo, max(h) + interval '1 hour' AS hi
              FROM (SELECT h, h - row_number() OVER (ORDER BY h) * interval '1 hour' AS grp
                      FROM unnest(hours) AS h) s
             GROUP BY grp
        LOOP
            PERFORM affectwatch_aggregate_span(span.lo, span.hi);
        END LOOP;
    END IF;
    INSERT INTO history_settings (id, refreshed_at) VALUES (true, now())
    ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at;
    RETURN cardinality(hours);
END;
$$;

CREATE FUNCTION affectwatch_aggregate_span(p_lo timestamptz, p_hi timestamptz) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    INSERT INTO face_hourly
    SELECT date_trunc('hour', captured_at, 'UTC'), resident_id, camera_id, count(*),
           count(*) FILTER (WHERE expression = 'anger'), count(*) FILTER (WHERE expression = 'contempt'),
           count(*) FILTER (WHERE expression = 'disgust'), count(*) FILTER (WHERE expression = 'fear'),
           count(*) FILTER (WHERE expression = 'happy'), count(*) FILTER (WHERE expression = 'neutral'),
           count(*) FILTER (WHERE expression = 'sad'), count(*) FILTER (WHERE expression = 'surprise'),
           sum(p_anger), sum(p_contempt), sum(p_disgust), sum(p_fear),
           sum(p_happy), sum(p_neutral), sum(p_sad), sum(p_surprise), sum(confidence)
      FROM faces
     WHERE captured_at >= p_lo AND captured_at < p_hi
     GROUP BY 1, 2, 3;
    INSERT INTO frame_hourly
    SELECT date_trunc('hour', captured_at, 'UTC'), camera_id, count(*),
           count(*) FILTER (WHERE status = 'processed'), count(*) FILTER (WHERE status = 'expired'),
           count(*) FILTER (WHERE n_faces > 0), sum(n_faces), sum(latency_ms)
      FROM frames
     WHERE captured_at >= p_lo AND captured_at < p_hi
     GROUP BY 1, 2;
$$;

-- The summed probability (or count) of the labels in neg, from one value per label.
CREATE FUNCTION affectwatch_negative_sum(neg text[], anger float8, contempt float8, disgust float8, fear float8,
                                         happy float8, neutral float8, sad float8, surprise float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN 'anger' = ANY (neg) THEN coalesce(anger, 0) ELSE 0 END
         + CASE WHEN 'contempt' = ANY (neg) THEN coalesce(contempt, 0) ELSE 0 END
         + CASE WHEN 'disgust' = ANY (neg) THEN coalesce(disgust, 0) ELSE 0 END
         + CASE WHEN 'fear' = ANY (neg) THEN coalesce(fear, 0) ELSE 0 END
         + CASE WHEN 'happy' = ANY (neg) THEN coalesce(happy, 0) ELSE 0 END
         + CASE WHEN 'neutral' = ANY (neg) THEN coalesce(neutral, 0) ELSE 0 END
         + CASE WHEN 'sad' = ANY (neg) THEN coalesce(sad, 0) ELSE 0 END
         + CASE WHEN 'surprise' = ANY (neg) THEN coalesce(surprise, 0) ELSE 0 END;
$$;

-- ---------------------------------------------------------------------------------------------------------
-- The analytics schema: what analysts and BI tools read. Documented column by column in docs/sql.md.
CREATE SCHEMA analytics;
COMMENT ON SCHEMA analytics IS 'AffectWatch views for analysts (docs/sql.md); times are timestamptz, local_* columns '
                               'are in the care home''s time zone (analytics.settings).';

CREATE VIEW analytics.settings AS
SELECT timezone, negative_labels, refreshed_at AS aggregates_refreshed_at FROM history_site;

CREATE VIEW analytics.residents AS
SELECT id AS resident_id, name AS resident_name, room, monitored, created_at FROM residents;

-- No source column: camera addresses can hold passwords.
CREATE VIEW analytics.cameras AS
SELECT c.id AS camera_id, c.name AS camera_name, c.location, c.enabled, c.sample_fps,
       c.resident_id, r.name AS resident_name, c.created_at
FROM cameras c LEFT JOIN residents r ON r.id = c.resident_id;

CREATE VIEW analytics.faces AS
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
       f.det_prob::double precision AS det_prob, f.model, f.frame_id, f.face_index
FROM faces f
CROSS JOIN history_site s
LEFT JOIN residents r ON r.id = f.resident_id
LEFT JOIN cameras c ON c.id = f.camera_id;

CREATE VIEW analytics.frames AS
SELECT f.captured_at,
       f.captured_at AT TIME ZONE s.timezone AS local_time,
       (f.captured_at AT TIME ZONE s.timezone)::date AS local_date,
       extract(hour FROM f.captured_at AT TIME ZONE s.timezone)::integer AS local_hour,
       f.camera_id, c.name AS camera_name, c.location,
       f.status, f.n_faces, f.latency_ms::double precision AS latency_ms, f.processed_at, f.frame_id
FROM frames f
CROSS JOIN history_site s
LEFT JOIN cameras c ON c.id = f.camera_id;

CREATE VIEW analytics.expression_hourly AS
SELECT h.bucket AS hour_start,
       h.bucket AT TIME ZONE s.timezone AS local_time,
       (h.bucket AT TIME ZONE s.timezone)::date AS local_date,
       extract(hour FROM h.bucket AT TIME ZONE s.timezone)::integer AS local_hour,
       extract(isodow FROM h.bucket AT TIME ZONE s.timezone)::integer AS local_weekday,
       h.resident_id, r.name AS resident_name, h.camera_id, c.name AS camera_name, c.location,
       h.faces,
       h.n_anger, h.n_contempt, h.n_disgust, h.n_fear, h.n_happy, h.n_neutral, h.n_sad, h.n_surprise,
       affectwatch_negative_sum(s.negative_labels, h.n_anger, h.n_contempt, h.n_disgust, h.n_fear, h.n_happy,
                                h.n_neutral, h.n_sad, h.n_surprise)::integer AS negative_faces,
       affectwatch_negative_sum(s.negative_labels, h.n_anger, h.n_contempt, h.n_disgust, h.n_fear, h.n_happy,
                                h.n_neutral, h.n_sad, h.n_surprise) / h.faces AS negative_share,
       affectwatch_negative_sum(s.negative_labels, h.p_anger, h.p_contempt, h.p_disgust, h.p_fear, h.p_happy,
                                h.p_neutral, h.p_sad, h.p_surprise) / h.faces AS mean_p_negative,
       h.confidence / h.faces AS mean_confidence
FROM face_hourly h
CROSS JOIN history_site s
LEFT JOIN residents r ON r.id = h.resident_id
LEFT JOIN cameras c ON c.id = h.camera_id;

CREATE VIEW analytics.resident_daily AS
SELECT d.local_date, d.resident_id, d.resident_name, d.faces,
       d.n_anger, d.n_contempt, d.n_disgust, d.n_fear, d.n_happy, d.n_neutral, d.n_sad, d.n_surprise,
       d.n_anger::double precision / d.faces AS share_anger,
       d.n_contempt::double precision / d.faces AS share_contempt,
       d.n_disgust::double precision / d.faces AS share_disgust,
       d.n_fear::double precision / d.faces AS share_fear,
       d.n_happy::double precision / d.faces AS share_happy,
       d.n_neutral::double precision / d.faces AS share_neutral,
       d.n_sad::double precision / d.faces AS share_sad,
       d.n_surprise::double precision / d.faces AS share_surprise,
       affectwatch_negative_sum(s.negative_labels, d.n_anger, d.n_contempt, d.n_disgust, d.n_fear, d.n_happy,
                                d.n_neutral, d.n_sad, d.n_surprise)::bigint AS negative_faces,
       affectwatch_negative_sum(s.negative_labels, d.n_anger, d.n_contempt, d.n_disgust, d.n_fear, d.n_happy,
                                d.n_neutral, d.n_sad, d.n_surprise) / d.faces AS negative_share,
       affectwatch_negative_sum(s.negative_labels, d.p_anger, d.p_contempt, d.p_disgust, d.p_fear, d.p_happy,
                                d.p_neutral, d.p_sad, d.p_surprise) / d.faces AS mean_p_negative
-- The resident's name is a grouping column, so a filter on it reaches the index on face_hourly.resident_id.
FROM (SELECT (h.bucket AT TIME ZONE st.timezone)::date AS local_date, h.resident_id, r.name AS resident_name,
             sum(h.faces) AS faces,
             sum(h.n_anger) AS n_anger, sum(h.n_contempt) AS n_contempt, sum(h.n_disgust) AS n_disgust,
             sum(h.n_fear) AS n_fear, sum(h.n_happy) AS n_happy, sum(h.n_neutral) AS n_neutral,
             sum(h.n_sad) AS n_sad, sum(h.n_surprise) AS n_surprise,
             sum(h.p_anger) AS p_anger, sum(h.p_contempt) AS p_contempt, sum(h.p_disgust) AS p_disgust,
             sum(h.p_fear) AS p_fear, sum(h.p_happy) AS p_happy, sum(h.p_neutral) AS p_neutral,
             sum(h.p_sad) AS p_sad, sum(h.p_surprise) AS p_surprise
        FROM face_hourly h
        JOIN residents r ON r.id = h.resident_id
       CROSS JOIN history_site st
       GROUP BY 1, 2, 3) d
CROSS JOIN history_site s;

-- Faces are counted from the frames (n_faces); the negative ones from face_hourly, camera by camera.
CREATE VIEW analytics.camera_hourly AS
SELECT fr.bucket AS hour_start,
       fr.bucket AT TIME ZONE s.timezone AS local_time,
       (fr.bucket AT TIME ZONE s.timezone)::date AS local_date,
       extract(hour FROM fr.bucket AT TIME ZONE s.timezone)::integer AS local_hour,
       fr.camera_id, c.name AS camera_name, c.location,
       fr.frames, fr.processed AS processed_frames, fr.expired AS expired_frames, fr.frames_with_faces,
       fr.faces,
       coalesce(fa.negative_faces, 0)::integer AS negative_faces,
       fa.negative_faces / nullif(fa.faces, 0) AS negative_share,
       fr.latency_ms / fr.frames AS mean_latency_ms
FROM frame_hourly fr
CROSS JOIN history_site s
LEFT JOIN cameras c ON c.id = fr.camera_id
LEFT JOIN LATERAL (
    SELECT sum(h.faces) AS faces,
           sum(affectwatch_negative_sum(s.negative_labels, h.n_anger, h.n_contempt, h.n_disgust, h.n_fear,
                                        h.n_happy, h.n_neutral, h.n_sad, h.n_surprise)) AS negative_faces
      FROM face_hourly h
     WHERE h.bucket = fr.bucket AND coalesce(h.camera_id, 0) = coalesce(fr.camera_id, 0)) fa ON true;

CREATE VIEW analytics.alerts AS
SELECT a.id AS alert_id, a.kind, a.state, a.resident_id, r.name AS resident_name,
       a.camera_id, c.name AS camera_name, c.location,
       a.window_start, a.window_end, a.n_faces, a.negative_share::double precision AS negative_share,
       a.threshold::double precision AS threshold, a.dominant_expression,
       a.peak_share::double precision AS peak_share, a.peak_at,
       a.opened_at, a.opened_at AT TIME ZONE s.timezone AS opened_local,
       a.acknowledged_at, a.resolved_at, a.resolve_reason,
       extract(epoch FROM a.acknowledged_at - a.opened_at) / 60 AS minutes_to_acknowledge,
       extract(epoch FROM coalesce(a.resolved_at, now()) - a.opened_at) / 60 AS minutes_open
FROM alerts a
CROSS JOIN history_site s
LEFT JOIN residents r ON r.id = a.resident_id
LEFT JOIN cameras c ON c.id = a.camera_id;

-- Each change of an alert (no notes or staff names: those stay in the dashboard).
CREATE VIEW analytics.alert_events AS
SELECT e.id AS event_id, e.alert_id, e.kind, e.at, e.at AT TIME ZONE s.timezone AS local_time
FROM alert_events e CROSS JOIN history_site s;

-- ---------------------------------------------------------------------------------------------------------
-- Group roles (NOLOGIN): deployments grant them to login roles, e.g.
--   CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE affectwatch_analyst;
-- Roles belong to the whole server; creating them tolerates another database's migration doing it at once.
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['affectwatch_analyst', 'affectwatch_worker', 'affectwatch_producer',
                             'affectwatch_dashboard'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END;
$$;

-- The whole privilege policy in one place; a later migration that adds tables replaces and calls it.
-- Maintenance (migrate, retention, partitions, refresh, erasure) runs as the owner of the schema.
CREATE FUNCTION affectwatch_apply_grants() RETURNS void
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
                 'camera_status,frames,faces,face_hourly,frame_hourly,history_settings,alert_baselines')
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
    REVOKE ALL ON FUNCTION affectwatch_mark_inserted_hours() FROM PUBLIC;
    REVOKE ALL ON FUNCTION affectwatch_mark_updated_hours() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION affectwatch_ensure_partitions(date, integer) TO affectwatch_worker;
END;
$$;
REVOKE ALL ON FUNCTION affectwatch_apply_grants() FROM PUBLIC;
SELECT affectwatch_apply_grants();
