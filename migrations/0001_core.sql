-- Core schema: residents, cameras, camera status, processed frames and detected faces.
-- frames and faces are partitioned by capture time (monthly); see affectwatch_ensure_partitions.

CREATE TABLE residents (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    room        text NOT NULL DEFAULT '' CHECK (length(room) <= 100),
    monitored   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cameras (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    source      text NOT NULL CHECK (length(source) BETWEEN 1 AND 2000),
    location    text NOT NULL DEFAULT '' CHECK (length(location) <= 200),
    sample_fps  real NOT NULL DEFAULT 2 CHECK (sample_fps > 0 AND sample_fps <= 30),
    enabled     boolean NOT NULL DEFAULT true,
    resident_id bigint REFERENCES residents (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cameras_resident_idx ON cameras (resident_id);

-- Written by the producer every few seconds: what the dashboard shows as camera health.
CREATE TABLE camera_status (
    camera_id       bigint PRIMARY KEY REFERENCES cameras (id) ON DELETE CASCADE,
    state           text NOT NULL CHECK (state IN ('starting', 'online', 'offline', 'ended', 'disabled')),
    last_frame_at   timestamptz,
    frames_sent     bigint NOT NULL DEFAULT 0 CHECK (frames_sent >= 0),
    frames_dropped  bigint NOT NULL DEFAULT 0 CHECK (frames_dropped >= 0),
    errors          bigint NOT NULL DEFAULT 0 CHECK (errors >= 0),
    last_error      text,
    fps             real NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per frame a worker took from the queue: processed, or expired (waited past its TTL).
CREATE TABLE frames (
    frame_id      uuid NOT NULL,
    captured_at   timestamptz NOT NULL,
    camera_id     bigint REFERENCES cameras (id) ON DELETE SET NULL,
    status        text NOT NULL DEFAULT 'processed' CHECK (status IN ('processed', 'expired')),
    processed_at  timestamptz NOT NULL DEFAULT now(),
    width         integer CHECK (width > 0),
    height        integer CHECK (height > 0),
    n_faces       integer NOT NULL DEFAULT 0 CHECK (n_faces >= 0),
    latency_ms    real CHECK (latency_ms >= 0),
    detect_ms     real,
    classify_ms   real,
    job_id        text,
    worker        text,
    PRIMARY KEY (frame_id, captured_at)
) PARTITION BY RANGE (captured_at);
CREATE INDEX frames_camera_time_idx ON frames (camera_id, captured_at);

-- One row per detected face. Probabilities are calibrated; a label the model lacks is NULL.
CREATE TABLE faces (
    frame_id     uuid NOT NULL,
    face_index   smallint NOT NULL CHECK (face_index >= 0),
    captured_at  timestamptz NOT NULL,
    camera_id    bigint REFERENCES cameras (id) ON DELETE SET NULL,
    resident_id  bigint REFERENCES residents (id) ON DELETE CASCADE,
    box_x1       real NOT NULL,
    box_y1       real NOT NULL,
    box_x2       real NOT NULL,
    box_y2       real NOT NULL,
    det_prob     real NOT NULL CHECK (det_prob BETWEEN 0 AND 1),
    expression   text NOT NULL CHECK (expression IN
                   ('anger', 'contempt', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise')),
    confidence   real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    p_anger      real CHECK (p_anger BETWEEN 0 AND 1),
    p_contempt   real CHECK (p_contempt BETWEEN 0 AND 1),
    p_disgust    real CHECK (p_disgust BETWEEN 0 AND 1),
    p_fear       real CHECK (p_fear BETWEEN 0 AND 1),
    p_happy      real CHECK (p_happy BETWEEN 0 AND 1),
    p_neutral    real CHECK (p_neutral BETWEEN 0 AND 1),
    p_sad        real CHECK (p_sad BETWEEN 0 AND 1),
    p_surprise   real CHECK (p_surprise BETWEEN 0 AND 1),
    model        text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
    CHECK (box_x2 > box_x1 AND box_y2 > box_y1),
    CHECK (abs(coalesce(p_anger, 0) + coalesce(p_contempt, 0) + coalesce(p_disgust, 0) + coalesce(p_fear, 0)
             + coalesce(p_happy, 0) + coalesce(p_neutral, 0) + coalesce(p_sad, 0) + coalesce(p_surprise, 0)
             - 1) < 0.01),
    PRIMARY KEY (frame_id, face_index, captured_at)
) PARTITION BY RANGE (captured_at);
CREATE INDEX faces_resident_time_idx ON faces (resident_id, captured_at);
CREATE INDEX faces_camera_time_idx ON faces (camera_id, captured_at);

-- Rows outside every monthly partition land here rather than being lost.
CREATE TABLE frames_default PARTITION OF frames DEFAULT;
CREATE TABLE faces_default PARTITION OF faces DEFAULT;

-- Create monthly partitions of frames and faces from the month of p_from for p_months months.
CREATE FUNCTION affectwatch_ensure_partitions(p_from date, p_months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    created integer := 0;
    month_start date;
    parent text;
    part text;
BEGIN
    FOR i IN 0 .. p_months - 1 LOOP
        month_start := (date_trunc('month', p_from) + make_interval(months => i))::date;
        FOREACH parent IN ARRAY ARRAY['frames', 'faces'] LOOP
            part := format('%s_%s', parent, to_char(month_start, 'YYYY_MM'));
            IF to_regclass(part) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                               part, parent, month_start, (month_start + interval '1 month')::date);
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END;
$$;

SELECT affectwatch_ensure_partitions((now() - interval '1 month')::date, 4);
