-- 008_notifications: quota alerts, and link and grant rights end with their
-- owner's account.
--
-- * Crossing 80%, 90% or 100% of the quota upwards makes a notification and
--   an activity entry, once per crossing: users.quota_alert_level remembers
--   the highest threshold the usage is at or above, and falls back when the
--   usage drops (or the quota grows), so crossing again alerts again. A jump
--   over several thresholds at once alerts once, for the highest. The
--   trigger runs in the transaction that changes the usage, so no change
--   can slip by without its alert.
-- * A deactivated user's share links and grants give nothing.

ALTER TABLE users ADD COLUMN quota_alert_level smallint NOT NULL DEFAULT 0
    CHECK (quota_alert_level IN (0, 80, 90, 100));

CREATE TABLE notifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
    message     text NOT NULL,
    details     jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id, created_at DESC, id DESC) WHERE read_at IS NULL;

-- The highest alert threshold that used reaches of quota (0: none).
CREATE FUNCTION quota_level(p_used bigint, p_quota bigint) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (CASE
        WHEN p_quota <= 0 THEN CASE WHEN p_used > 0 THEN 100 ELSE 0 END
        WHEN p_used::numeric * 100 >= p_quota::numeric * 100 THEN 100
        WHEN p_used::numeric * 100 >= p_quota::numeric * 90 THEN 90
        WHEN p_used::numeric * 100 >= p_quota::numeric * 80 THEN 80
        ELSE 0 END)::smallint
$$;

UPDATE users SET quota_alert_level = quota_level(storage_used, storage_quota);

CREATE FUNCTION users_quota_alert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    lvl smallint := quota_level(NEW.storage_used, NEW.storage_quota);
    msg text;
BEGIN
    IF lvl > OLD.quota_alert_level THEN
        msg := CASE WHEN lvl = 100 THEN 'Your storage is full: '
                    ELSE 'Your storage is ' || lvl || '% full: ' END
               || human_bytes(NEW.storage_used) || ' of ' || human_bytes(NEW.storage_quota)
               || ' used.' || CASE WHEN lvl = 100 THEN ' New uploads will be refused until you free space.'
                                   ELSE '' END;
        INSERT INTO notifications (user_id, kind, message, details)
            VALUES (NEW.id, 'quota', msg,
                    jsonb_build_object('threshold', lvl, 'used', NEW.storage_used,
                                       'quota', NEW.storage_quota));
        INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, details)
            VALUES (NEW.id, 'quota_alert', NEW.id, 'user', NEW.username,
                    jsonb_build_object('threshold', lvl, 'used', NEW.storage_used,
                                       'quota', NEW.storage_quota));
    END IF;
    NEW.quota_alert_level := lvl;
    RETURN NEW;
END $$;
CREATE TRIGGER users_quota_alert BEFORE UPDATE OF storage_used, storage_quota ON users
    FOR EACH ROW WHEN (NEW.storage_used IS DISTINCT FROM OLD.storage_used
                       OR NEW.storage_quota IS DISTINCT FROM OLD.storage_quota)
    EXECUTE FUNCTION users_quota_alert();

CREATE FUNCTION notification_json(n notifications) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', n.id, 'kind', n.kind, 'message', n.message,
                             'details', n.details, 'created_at', api_time(n.created_at),
                             'read', n.read_at IS NOT NULL, 'read_at', api_time(n.read_at))
$$;

-- Rights end with the owner's account: a deactivated user's links and
-- grants give nothing (their sessions and tokens already stop).
CREATE OR REPLACE FUNCTION item_permissions(p_user uuid, p_link uuid, p_kind text, p_id uuid) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    owner uuid;
    start uuid;           -- the folder the ancestor walk starts at
    above uuid[];         -- that folder and every folder above it
    perms text[] := '{}';
    granted boolean;      -- any grant on the item or a folder above it
    editor boolean;       -- an editor grant among them
    editor_above boolean; -- an editor grant on a folder strictly above the item
    level text;
BEGIN
    IF p_kind = 'file' THEN
        SELECT user_id, folder_id INTO owner, start FROM files WHERE id = p_id AND NOT is_deleted;
    ELSIF p_kind = 'folder' THEN
        SELECT user_id, id INTO owner, start FROM folders WHERE id = p_id AND NOT is_deleted;
    END IF;
    IF owner IS NULL THEN
        RETURN perms;
    END IF;
    IF p_user IS NOT NULL AND owner = p_user THEN
        RETURN permissions_all();
    END IF;
    IF (p_user IS NULL AND p_link IS NULL)
       OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = owner AND u.is_active) THEN
        RETURN perms;
    END IF;
    SELECT array_agg(a.id) INTO above FROM folder_ancestors(start) a;
    IF p_user IS NOT NULL THEN
        SELECT bool_or(true), bool_or(g.role = 'editor'),
               bool_or(g.role = 'editor' AND g.file_id IS NULL AND g.folder_id <> p_id)
          INTO granted, editor, editor_above
          FROM grants g
         WHERE g.grantee_id = p_user AND g.owner_id = owner
           AND ((p_kind = 'file' AND g.file_id = p_id) OR g.folder_id = ANY (above));
        IF editor THEN
            perms := ARRAY['view', 'download', 'edit', 'upload'];
        ELSIF granted THEN
            perms := ARRAY['view', 'download'];
        END IF;
        IF editor_above THEN
            perms := perms || ARRAY['delete'];
        END IF;
    END IF;
    IF p_link IS NOT NULL THEN
        SELECT s.permission_level INTO level
          FROM shares s
         WHERE s.id = p_link AND s.user_id = owner AND s.is_active
           AND (s.expires_at IS NULL OR s.expires_at > now())
           AND ((p_kind = 'file' AND s.file_id = p_id) OR s.folder_id = ANY (above));
        IF level = 'download' THEN
            perms := perms || ARRAY['view', 'download'];
        ELSIF level = 'view' THEN
            perms := perms || ARRAY['view'];
        END IF;
    END IF;
    RETURN ARRAY(SELECT DISTINCT unnest(perms) ORDER BY 1);
END $$;

-- A deactivated owner's links answer as if revoked.
CREATE OR REPLACE FUNCTION share_lookup(p_digest bytea, OUT id uuid, OUT owner uuid, OUT kind text,
                             OUT item uuid, OUT active boolean, OUT expired boolean,
                             OUT password_hash text, OUT permission text,
                             OUT download_limit bigint, OUT download_count bigint,
                             OUT expires_at text)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.user_id, CASE WHEN s.file_id IS NOT NULL THEN 'file' ELSE 'folder' END,
           coalesce(s.file_id, s.folder_id), s.is_active AND u.is_active,
           s.expires_at IS NOT NULL AND s.expires_at <= now(), s.password_hash,
           s.permission_level, s.download_limit, s.download_count, api_time(s.expires_at)
      FROM shares s JOIN users u ON u.id = s.user_id WHERE s.share_token_hash = p_digest
$$;
