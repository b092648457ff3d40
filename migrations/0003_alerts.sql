-- Alerts: a resident's sustained negative expression, or a camera of a monitored resident gone silent;
-- every change of an alert (opened, acknowledged, escalated, resolved, delivered, delivery failed);
-- webhook endpoints; deliveries to webhooks and email; each resident's usual negative share (baseline).

-- Overrides of the remaining alert thresholds (0002 holds window, negative share, min faces, cool-down).
ALTER TABLE resident_alert_thresholds
    ADD COLUMN close_share      real CHECK (close_share >= 0 AND close_share < 1),
    ADD COLUMN baseline         boolean,
    ADD COLUMN baseline_margin  real CHECK (baseline_margin >= 0 AND baseline_margin < 1),
    ADD COLUMN offline_seconds  integer CHECK (offline_seconds BETWEEN 30 AND 604800);

-- Times are capture times (window_*, peak_at, recovered_at, decided_until: how far recovery was decided) or wall-clock times of a change
-- (opened_at, acknowledged_at, resolved_at). An expression alert's window is the first window of its
-- episode that met the rule; a camera-offline alert's window runs from the camera's last frame to detection.
CREATE TABLE alerts (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                 text NOT NULL CHECK (kind IN ('expression', 'camera_offline')),
    state                text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    resident_id          bigint REFERENCES residents (id) ON DELETE CASCADE,
    camera_id            bigint REFERENCES cameras (id) ON DELETE SET NULL,
    window_start         timestamptz NOT NULL,
    window_end           timestamptz NOT NULL,
    n_faces              integer CHECK (n_faces >= 0),
    negative_share       real CHECK (negative_share BETWEEN 0 AND 1),
    threshold            real CHECK (threshold BETWEEN 0 AND 1),
    baseline_share       real CHECK (baseline_share BETWEEN 0 AND 1),
    dominant_expression  text CHECK (dominant_expression IN
                           ('anger', 'contempt', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise')),
    peak_share           real CHECK (peak_share BETWEEN 0 AND 1),
    peak_at              timestamptz,
    recovered_at         timestamptz,
    decided_until        timestamptz,
    opened_at            timestamptz NOT NULL DEFAULT now(),
    acknowledged_at      timestamptz,
    acknowledged_by      text CHECK (length(acknowledged_by) <= 200),
    ack_share            real CHECK (ack_share BETWEEN 0 AND 1),
    resolved_at          timestamptz,
    resolve_reason       text CHECK (length(resolve_reason) <= 500),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (window_end >= window_start),
    CHECK (kind <> 'expression' OR (resident_id IS NOT NULL AND n_faces IS NOT NULL AND negative_share IS NOT NULL
                                    AND peak_share IS NOT NULL)),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK (state <> 'acknowledged' OR acknowledged_at IS NOT NULL)
);
-- The guarantee: at most one unresolved alert per resident (expression) and per camera (offline).
CREATE UNIQUE INDEX alerts_one_active_per_resident ON alerts (resident_id)
    WHERE kind = 'expression' AND state <> 'resolved';
CREATE UNIQUE INDEX alerts_one_active_per_camera ON alerts (camera_id)
    WHERE kind = 'camera_offline' AND state <> 'resolved';
CREATE INDEX alerts_opened_idx ON alerts (opened_at DESC);
CREATE INDEX alerts_resident_idx ON alerts (resident_id, opened_at DESC);
CREATE INDEX alerts_active_idx ON alerts (state) WHERE state <> 'resolved';

CREATE TABLE alert_events (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('opened', 'escalated', 'acknowledged', 'resolved', 'delivered',
                                            'delivery_failed')),
    at        timestamptz NOT NULL DEFAULT now(),
    user_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    actor     text NOT NULL DEFAULT 'system' CHECK (length(actor) BETWEEN 1 AND 200),
    note      text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    details   jsonb NOT NULL DEFAULT '{}',
    -- Changes staff are told about (opened, escalated, acknowledged, resolved) wait here, NULL, until their
    -- deliveries are created: an outbox, so a change made anywhere (dashboard, command line) is delivered.
    dispatched_at  timestamptz
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id);
CREATE INDEX alert_events_undispatched_idx ON alert_events (id)
    WHERE dispatched_at IS NULL AND kind IN ('opened', 'escalated', 'acknowledged', 'resolved');

-- Dashboards may LISTEN affectwatch_alerts for every recorded change (sent when its transaction commits).
CREATE FUNCTION affectwatch_alert_event_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('affectwatch_alerts',
                      json_build_object('event_id', NEW.id, 'alert_id', NEW.alert_id, 'kind', NEW.kind)::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER alert_events_notify AFTER INSERT ON alert_events
    FOR EACH ROW EXECUTE FUNCTION affectwatch_alert_event_notify();

CREATE TABLE alert_webhooks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    url         text NOT NULL UNIQUE CHECK (url ~ '^https?://[^[:space:]]+$' AND length(url) <= 2000),
    secret      text NOT NULL CHECK (length(secret) BETWEEN 16 AND 500),
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per (event, destination): the outbox the delivery jobs work from.
CREATE TABLE alert_deliveries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id      bigint NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    alert_id      bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    channel       text NOT NULL CHECK (channel IN ('webhook', 'email')),
    webhook_id    bigint REFERENCES alert_webhooks (id) ON DELETE SET NULL,
    target        text NOT NULL CHECK (length(target) BETWEEN 1 AND 2000),
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'retrying', 'delivered', 'failed')),
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts  integer NOT NULL CHECK (max_attempts >= 1),
    last_status   integer,
    last_error    text CHECK (length(last_error) <= 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    enqueued_at   timestamptz,
    finished_at   timestamptz,
    UNIQUE (event_id, channel, target)
);
CREATE INDEX alert_deliveries_alert_idx ON alert_deliveries (alert_id);
CREATE INDEX alert_deliveries_unfinished_idx ON alert_deliveries (created_at) WHERE state IN ('pending', 'retrying');

-- A resident's usual negative share over the last days, refreshed by the sweep, read by the rule.
CREATE TABLE alert_baselines (
    resident_id     bigint PRIMARY KEY REFERENCES residents (id) ON DELETE CASCADE,
    negative_share  real NOT NULL CHECK (negative_share BETWEEN 0 AND 1),
    n_faces         bigint NOT NULL CHECK (n_faces >= 0),
    period_start    timestamptz NOT NULL,
    period_end      timestamptz NOT NULL,
    computed_at     timestamptz NOT NULL
);
