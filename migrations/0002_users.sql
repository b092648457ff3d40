-- Dashboard accounts, sign-in sessions and throttling; resident monitoring pauses and alert overrides.

CREATE TABLE users (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username       text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    display_name   text NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    password_hash  text NOT NULL CHECK (length(password_hash) > 20),
    role           text NOT NULL CHECK (role IN ('admin', 'staff', 'analyst')),
    active         boolean NOT NULL DEFAULT true,
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- One row per signed-in browser or API client; the cookie holds the token, the table its SHA-256.
CREATE TABLE user_sessions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    remote_addr   text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 500),
    CHECK (expires_at > created_at)
);
CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);

-- Failed sign-ins, counted per user name and per address to slow down guessing.
CREATE TABLE login_failures (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username     text NOT NULL,
    remote_addr  text NOT NULL,
    failed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username_idx ON login_failures (lower(username), failed_at);
CREATE INDEX login_failures_addr_idx ON login_failures (remote_addr, failed_at);

-- A period during which a resident is not monitored (care, a visit, privacy): no faces stored, no alerts.
CREATE TABLE monitoring_pauses (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resident_id  bigint NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL,
    reason       text NOT NULL CHECK (reason IN ('care', 'visit', 'privacy', 'other')),
    note         text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX monitoring_pauses_resident_idx ON monitoring_pauses (resident_id, ends_at);

-- Per-resident alert thresholds; NULL means "the configured default".
CREATE TABLE resident_alert_thresholds (
    resident_id     bigint PRIMARY KEY REFERENCES residents (id) ON DELETE CASCADE,
    window_seconds  integer CHECK (window_seconds BETWEEN 10 AND 86400),
    negative_share  real CHECK (negative_share > 0 AND negative_share <= 1),
    min_faces       integer CHECK (min_faces BETWEEN 1 AND 100000),
    cooldown_seconds integer CHECK (cooldown_seconds BETWEEN 0 AND 604800),
    updated_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Whether a resident is monitored at a given time: marked monitored and inside no pause.
CREATE FUNCTION affectwatch_resident_monitored(p_resident bigint, p_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT r.monitored FROM residents r WHERE r.id = p_resident), false)
       AND NOT EXISTS (SELECT 1 FROM monitoring_pauses p
                       WHERE p.resident_id = p_resident AND p.starts_at <= p_at AND p.ends_at > p_at);
$$;
