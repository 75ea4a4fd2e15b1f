-- 005_sharing: one authorization rule, share links, grants to users.
--
-- * item_permissions() is THE rule: what a principal (a user, a share link,
--   or both) may do with a live file or folder. Owners may do everything;
--   a grant (to a user) or a link on the item or on any folder above it
--   gives what its role or permission says; anything else gives nothing,
--   and callers answer 404 so that no one learns that an item exists.
-- * Share links are stored by the SHA-256 of their token; the token itself
--   is shown once, when the link is made.

ALTER TABLE shares ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE shares ADD COLUMN token_prefix text NOT NULL DEFAULT '';
ALTER TABLE shares ADD COLUMN last_access_at timestamptz;
CREATE INDEX shares_user_list ON shares (user_id, created_at DESC, id DESC) WHERE is_active;

-- Files and folders shared with another registered user.
CREATE TABLE grants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    grantee_id  uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    file_id     uuid REFERENCES files(id) ON DELETE CASCADE,
    folder_id   uuid REFERENCES folders(id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('viewer', 'editor')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grants_one_target CHECK ((file_id IS NULL) <> (folder_id IS NULL)),
    CONSTRAINT grants_not_self CHECK (owner_id <> grantee_id)
);
CREATE UNIQUE INDEX grants_file_once ON grants (file_id, grantee_id) WHERE file_id IS NOT NULL;
CREATE UNIQUE INDEX grants_folder_once ON grants (folder_id, grantee_id) WHERE folder_id IS NOT NULL;
CREATE INDEX grants_grantee ON grants (grantee_id, created_at DESC, id DESC);
CREATE INDEX grants_owner ON grants (owner_id, created_at DESC, id DESC);

CREATE FUNCTION permissions_all() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['view', 'download', 'edit', 'delete', 'share', 'upload']
$$;

-- What p_user (NULL: nobody logged in) and/or the share link p_link (NULL:
-- none) may do with the live item (p_kind 'file' or 'folder', p_id). An
-- empty array: nothing, not even knowing that the item exists.
CREATE FUNCTION item_permissions(p_user uuid, p_link uuid, p_kind text, p_id uuid) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    owner uuid;
    start uuid;         -- the folder the ancestor walk starts at
    above uuid[];       -- that folder and every folder above it
    perms text[] := '{}';
    roles text[];
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
    IF p_user IS NULL AND p_link IS NULL THEN
        RETURN perms;
    END IF;
    SELECT array_agg(a.id) INTO above FROM folder_ancestors(start) a;
    IF p_user IS NOT NULL THEN
        SELECT array_agg(g.role) INTO roles
          FROM grants g
         WHERE g.grantee_id = p_user AND g.owner_id = owner
           AND ((p_kind = 'file' AND g.file_id = p_id) OR g.folder_id = ANY (above));
        IF 'editor' = ANY (roles) THEN
            perms := ARRAY['view', 'download', 'edit', 'upload'];
        ELSIF 'viewer' = ANY (roles) THEN
            perms := ARRAY['view', 'download'];
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

-- The share object of the API (never the token: it is shown once).
CREATE FUNCTION share_json(s shares) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id,
        'kind', CASE WHEN s.file_id IS NOT NULL THEN 'file' ELSE 'folder' END,
        'item_id', coalesce(s.file_id, s.folder_id),
        'item_name', coalesce((SELECT name FROM files WHERE id = s.file_id),
                              (SELECT name FROM folders WHERE id = s.folder_id)),
        'permission', s.permission_level,
        'expires_at', api_time(s.expires_at),
        'has_password', s.password_hash IS NOT NULL,
        'download_limit', s.download_limit,
        'access_count', s.access_count,
        'download_count', s.download_count,
        'is_active', s.is_active,
        'token_prefix', s.token_prefix,
        'created_at', api_time(s.created_at),
        'updated_at', api_time(s.updated_at),
        'last_access_at', api_time(s.last_access_at))
$$;

-- The file and folder objects with the permissions of whoever asks (the
-- one-argument forms keep giving the owner's).
CREATE FUNCTION file_json(f files, p_perms json) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'kind', 'file',
        'id', f.id,
        'name', f.name,
        'folder_id', f.folder_id,
        'size', f.size,
        'mime_type', f.mime_type,
        'sha256', encode(f.sha256, 'hex'),
        'description', f.description,
        'tags', to_json(f.tags),
        'version', f.version,
        'download_count', f.download_count,
        'created_at', api_time(f.created_at),
        'updated_at', api_time(f.updated_at),
        'sharing', json_build_object('link_count',
            (SELECT count(*) FROM shares s WHERE s.file_id = f.id AND s.is_active)),
        'permissions', coalesce(p_perms, owner_permissions()))
$$;
CREATE OR REPLACE FUNCTION file_json(f files) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT file_json(f, owner_permissions())
$$;

CREATE FUNCTION folder_json(f folders, p_path text, p_perms json) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'kind', 'folder',
        'id', f.id,
        'name', f.name,
        'parent_id', f.parent_id,
        'path', coalesce(p_path, CASE WHEN f.parent_id IS NULL THEN '/'
                                      ELSE rtrim(folder_path(f.parent_id), '/') || '/' || f.name END),
        'description', f.description,
        'file_count', f.file_count,
        'total_size', f.total_size,
        'created_at', api_time(f.created_at),
        'updated_at', api_time(f.updated_at),
        'permissions', coalesce(p_perms, owner_permissions()))
$$;
CREATE OR REPLACE FUNCTION folder_json(f folders, p_path text DEFAULT NULL) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT folder_json(f, p_path, owner_permissions())
$$;

-- The permissions object of a permission array (item_permissions()).
CREATE FUNCTION permissions_json(p text[]) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('view', 'view' = ANY (p), 'download', 'download' = ANY (p),
                             'edit', 'edit' = ANY (p), 'delete', 'delete' = ANY (p),
                             'share', 'share' = ANY (p), 'upload', 'upload' = ANY (p))
$$;

-- A share link by the digest of its token, with what the public side needs.
CREATE FUNCTION share_lookup(p_digest bytea, OUT id uuid, OUT owner uuid, OUT kind text,
                             OUT item uuid, OUT active boolean, OUT expired boolean,
                             OUT password_hash text, OUT permission text,
                             OUT download_limit bigint, OUT download_count bigint,
                             OUT expires_at text)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.user_id, CASE WHEN s.file_id IS NOT NULL THEN 'file' ELSE 'folder' END,
           coalesce(s.file_id, s.folder_id), s.is_active,
           s.expires_at IS NOT NULL AND s.expires_at <= now(), s.password_hash,
           s.permission_level, s.download_limit, s.download_count, api_time(s.expires_at)
      FROM shares s WHERE s.share_token_hash = p_digest
$$;

-- The path of folder p_id as seen through a link on folder p_root: from
-- p_root's own name down ("/Shared/sub"), so that a visitor learns nothing
-- of the folders above the shared one. p_root NULL: the owner's full path.
CREATE FUNCTION folder_path_within(p_id uuid, p_root uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_root IS NULL THEN folder_path(p_id)
                ELSE string_agg('/' || a.name, '' ORDER BY a.depth DESC) END
      FROM folder_ancestors(p_id) a
     WHERE a.depth <= (SELECT r.depth FROM folder_ancestors(p_id) r WHERE r.id = p_root)
$$;

-- The item as a link's visitor sees it: its permissions are the link's, the
-- path starts at the shared folder, and nothing points above the share (the
-- shared folder's parent_id, a shared file's folder_id are null).
CREATE FUNCTION share_item_json(p_link uuid, p_kind text, p_id uuid, p_root uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    WITH p AS (SELECT item_permissions(NULL, p_link, p_kind, p_id) AS p)
    SELECT CASE WHEN NOT ('view' = ANY (p.p)) THEN NULL
                WHEN p_kind = 'file' THEN
                    (SELECT (file_json(x, permissions_json(p.p))::jsonb
                             || CASE WHEN p_root IS NULL THEN '{"folder_id": null}'::jsonb
                                     ELSE '{}'::jsonb END)::json
                       FROM files x WHERE x.id = p_id)
                ELSE (SELECT (folder_json(f, folder_path_within(f.id, p_root), permissions_json(p.p))::jsonb
                              || CASE WHEN f.id = p_root THEN '{"parent_id": null}'::jsonb
                                      ELSE '{}'::jsonb END)::json
                        FROM folders f WHERE f.id = p_id)
           END
      FROM p
$$;
