-- bench/history at 10 M faces: the camera and per-camera questions scanned every hour of every camera;
-- and marking changed hours cost the workers' insert path a quarter of its rate (one INSERT per statement,
-- and the worker inserts row by row). A transaction now marks each set of hours once.

CREATE INDEX frame_hourly_local_date_idx ON frame_hourly (local_date);
CREATE INDEX face_hourly_camera_date_idx ON face_hourly (camera_id, local_date);

-- The sets of hours this transaction has marked are remembered in a transaction-local setting; rolling back
-- a savepoint forgets what it marked, as it forgets the marks themselves.
CREATE OR REPLACE FUNCTION affectwatch_mark_inserted_hours() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    hours text;
    marked text := coalesce(current_setting('affectwatch.marked_hours', true), '');
BEGIN
    SELECT string_agg(DISTINCT date_trunc('hour', captured_at, 'UTC')::text, ',') INTO hours FROM new_rows;
    IF hours IS NULL OR position('|' || hours || '|' IN marked) > 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO history_dirty_hours (bucket) SELECT h::timestamptz FROM unnest(string_to_array(hours, ',')) AS h;
    IF length(marked) > 10000 THEN  -- a long import: remember only the latest sets
        marked := '';
    END IF;
    PERFORM set_config('affectwatch.marked_hours', marked || '|' || hours || '|', true);
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION affectwatch_mark_inserted_hours() FROM PUBLIC;
