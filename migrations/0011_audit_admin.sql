-- Administrative actions in the audit log, beside the views, exports and erasures of 0005: accounts (created,
-- role changed, disabled or enabled, password set, removed), cameras, residents (added, changed, removed, their
-- alert thresholds and monitoring pauses), site settings, and sign-ins (written by the dashboard).
--
-- Changes to those tables are logged by triggers, so no code path (page, API, command line, SQL) escapes it.
-- The actor is what the connection declared with affectwatch.audit.bind (set_config of affectwatch.actor,
-- affectwatch.actor_id and affectwatch.remote_addr); a connection that declared nothing is logged as
-- db:<its Postgres role>. An entry names only ids, account names and which fields changed: never a resident's
-- name, never a camera's source (it may hold a password).

ALTER TABLE audit_log ALTER COLUMN subject_resident DROP NOT NULL;
ALTER TABLE audit_log ADD COLUMN subject_kind text NOT NULL DEFAULT 'resident'
    CHECK (subject_kind IN ('resident', 'user', 'camera', 'setting'));
ALTER TABLE audit_log ADD COLUMN subject_id bigint;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_subject_check
    CHECK ((subject_kind = 'resident') = (subject_resident IS NOT NULL));
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('view', 'export', 'erase', 'snapshot', 'enrol', 'unenrol', 'create', 'update', 'remove',
                      'role', 'disable', 'enable', 'password', 'sign-in', 'sign-in-failed'));
CREATE INDEX audit_log_kind_idx ON audit_log (subject_kind, subject_id, at DESC);

-- One entry, with the actor the connection declared.
CREATE FUNCTION affectwatch_audit(p_kind text, p_id bigint, p_action text, p_what text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    actor text := nullif(current_setting('affectwatch.actor', true), '');
    actor_id text := nullif(current_setting('affectwatch.actor_id', true), '');
BEGIN
    INSERT INTO audit_log (actor, actor_user_id, action, subject_kind, subject_id, subject_resident, what,
                           remote_addr)
    VALUES (left(coalesce(actor, 'db:' || session_user), 200), actor_id::bigint, p_action, p_kind, p_id,
            CASE WHEN p_kind = 'resident' THEN p_id END, left(p_what, 500),
            left(coalesce(current_setting('affectwatch.remote_addr', true), ''), 100));
END;
$$;

-- The columns whose value differs between two versions of a row, without the bookkeeping ones.
CREATE FUNCTION affectwatch_changed_columns(p_old jsonb, p_new jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(n.key, ', ' ORDER BY n.key), '')
      FROM jsonb_each(p_new) AS n
     WHERE n.key NOT IN ('updated_at', 'created_at', 'last_login_at', 'refreshed_at')
       AND n.value IS DISTINCT FROM p_old -> n.key;
$$;

CREATE FUNCTION affectwatch_audit_users() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    rest text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM affectwatch_audit('user', NEW.id, 'create', format('%s (%s)', NEW.username, NEW.role));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM affectwatch_audit('user', OLD.id, 'remove', OLD.username);
    ELSE
        IF NEW.role IS DISTINCT FROM OLD.role THEN
            PERFORM affectwatch_audit('user', NEW.id, 'role', format('%s: %s -> %s', NEW.username, OLD.role, NEW.role));
        END IF;
        IF NEW.active IS DISTINCT FROM OLD.active THEN
            PERFORM affectwatch_audit('user', NEW.id, CASE WHEN NEW.active THEN 'enable' ELSE 'disable' END,
                                      NEW.username);
        END IF;
        IF NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
            PERFORM affectwatch_audit('user', NEW.id, 'password', NEW.username);
        END IF;
        rest := affectwatch_changed_columns(to_jsonb(OLD) - ARRAY['role', 'active', 'password_hash'],
                                            to_jsonb(NEW) - ARRAY['role', 'active', 'password_hash']);
        IF rest <> '' THEN
            PERFORM affectwatch_audit('user', NEW.id, 'update', format('%s: %s', NEW.username, rest));
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- Cameras and residents: created, which fields changed, removed.
CREATE FUNCTION affectwatch_audit_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    kind text := TG_ARGV[0];
    changed text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM affectwatch_audit(kind, NEW.id, 'create', '');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM affectwatch_audit(kind, OLD.id, 'remove', '');
    ELSE
        changed := affectwatch_changed_columns(to_jsonb(OLD), to_jsonb(NEW));
        IF changed <> '' THEN
            PERFORM affectwatch_audit(kind, NEW.id, 'update', changed);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

-- A resident's alert thresholds and monitoring pauses: changes to that resident, with the values (numbers and
-- reasons, never names or notes).
CREATE FUNCTION affectwatch_audit_resident_settings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    r record;
    what text;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'resident_alert_thresholds' THEN
        what := CASE TG_OP WHEN 'DELETE' THEN 'alert thresholds: defaults'
                ELSE 'alert thresholds: ' || coalesce(
                    (SELECT string_agg(t.key || ' ' || t.value, ', ' ORDER BY t.key)
                       FROM jsonb_each_text(to_jsonb(NEW) - ARRAY['resident_id', 'updated_by', 'updated_at']) AS t
                      WHERE t.value IS NOT NULL), 'defaults')
                END;
    ELSE
        what := format('monitoring pause %s (%s) %s', r.id, r.reason,
                       CASE TG_OP WHEN 'INSERT' THEN 'added' WHEN 'DELETE' THEN 'removed' ELSE 'changed' END);
    END IF;
    IF TG_OP = 'UPDATE' AND to_jsonb(OLD) - 'updated_at' = to_jsonb(NEW) - 'updated_at' THEN
        RETURN NULL;
    END IF;
    PERFORM affectwatch_audit('resident', r.resident_id, 'update', what);
    RETURN NULL;
END;
$$;

-- Site settings the history views read (time zone, negative labels).
CREATE FUNCTION affectwatch_audit_settings() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.timezone IS DISTINCT FROM OLD.timezone OR NEW.negative_labels IS DISTINCT FROM OLD.negative_labels THEN
        PERFORM affectwatch_audit('setting', NULL, 'update',
                                  format('time zone %s -> %s; negative labels %s -> %s', OLD.timezone, NEW.timezone,
                                         array_to_string(OLD.negative_labels, ','),
                                         array_to_string(NEW.negative_labels, ',')));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_audit AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION affectwatch_audit_users();
CREATE TRIGGER cameras_audit AFTER INSERT OR UPDATE OR DELETE ON cameras
    FOR EACH ROW EXECUTE FUNCTION affectwatch_audit_rows('camera');
CREATE TRIGGER residents_audit AFTER INSERT OR UPDATE OR DELETE ON residents
    FOR EACH ROW EXECUTE FUNCTION affectwatch_audit_rows('resident');
CREATE TRIGGER resident_alert_thresholds_audit AFTER INSERT OR UPDATE OR DELETE ON resident_alert_thresholds
    FOR EACH ROW EXECUTE FUNCTION affectwatch_audit_resident_settings();
CREATE TRIGGER monitoring_pauses_audit AFTER INSERT OR UPDATE OR DELETE ON monitoring_pauses
    FOR EACH ROW EXECUTE FUNCTION affectwatch_audit_resident_settings();
CREATE TRIGGER history_settings_audit AFTER UPDATE ON history_settings
    FOR EACH ROW EXECUTE FUNCTION affectwatch_audit_settings();

REVOKE ALL ON FUNCTION affectwatch_audit(text, bigint, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION affectwatch_audit_users() FROM PUBLIC;
REVOKE ALL ON FUNCTION affectwatch_audit_rows() FROM PUBLIC;
REVOKE ALL ON FUNCTION affectwatch_audit_resident_settings() FROM PUBLIC;
REVOKE ALL ON FUNCTION affectwatch_audit_settings() FROM PUBLIC;
