-- 006_authorization: item_permissions() decides everywhere.
--
-- Until now every change checked `user_id = caller`. From here on the
-- caller (the actor) and the owner of the items are two people: a user with
-- an editor grant on alice's folder uploads, renames, creates folders, moves
-- and deletes inside it; what is made there belongs to alice and is charged
-- to her quota, under her tree lock. Each function below asks
-- item_permissions() (005) itself, inside the transaction and under the
-- owner's tree lock, so a grant revoked a moment earlier is already seen.
--
-- The rule gains one point: an editor may delete what lies strictly below
-- the folder they were given, never the given item itself.

ALTER TABLE grants ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE OR REPLACE FUNCTION item_permissions(p_user uuid, p_link uuid, p_kind text, p_id uuid) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    owner uuid;
    start uuid;         -- the folder the ancestor walk starts at
    above uuid[];       -- that folder and every folder above it
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
    IF p_user IS NULL AND p_link IS NULL THEN
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

-- The owner of a live item (NULL: none).
CREATE FUNCTION item_owner(p_kind text, p_id uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT CASE p_kind
        WHEN 'file' THEN (SELECT user_id FROM files WHERE id = p_id AND NOT is_deleted)
        WHEN 'folder' THEN (SELECT user_id FROM folders WHERE id = p_id AND NOT is_deleted)
    END
$$;

-- The topmost folder at or above p_start that a grant to p_user covers:
-- where that user's view of the owner's tree begins (NULL: no such folder).
CREATE FUNCTION grant_root(p_user uuid, p_start uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT a.id FROM folder_ancestors(p_start) a
      JOIN grants g ON g.folder_id = a.id AND g.grantee_id = p_user
     ORDER BY a.depth DESC LIMIT 1
$$;

-- The folders from p_root down to p_id's parent: [{"id","name"}] (p_root
-- NULL: from the owner's root, as folder_breadcrumb).
CREATE FUNCTION folder_breadcrumb_within(p_id uuid, p_root uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name) ORDER BY a.depth DESC)
                    FILTER (WHERE a.depth > 0), '[]'::json)
      FROM folder_ancestors(p_id) a
     WHERE p_root IS NULL
        OR a.depth <= (SELECT r.depth FROM folder_ancestors(p_id) r WHERE r.id = p_root)
$$;

-- A file as whoever has p_perms sees it (NULL: the owner): the owner's
-- links are the owner's business, so others do not see their count.
CREATE FUNCTION file_json_as(f files, p_perms json) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_perms IS NULL OR (p_perms->>'share')::boolean THEN file_json(f, p_perms)
                ELSE (file_json(f, p_perms)::jsonb - 'sharing')::json END
$$;

-- An item as someone who is not its owner sees it (p_scoped) or as its
-- owner: the permissions are the given ones; a visitor's paths start at
-- p_root (the shared or granted folder) and nothing points above it (that
-- folder's parent_id, a file shared by itself's folder_id are null). NULL
-- without 'view'.
CREATE FUNCTION item_json_as(p_perms text[], p_kind text, p_id uuid, p_root uuid,
                             p_scoped boolean) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT ('view' = ANY (p_perms)) THEN NULL
                WHEN p_kind = 'file' THEN
                    (SELECT (file_json_as(x, permissions_json(p_perms))::jsonb
                             || CASE WHEN p_scoped AND p_root IS NULL THEN '{"folder_id": null}'::jsonb
                                     ELSE '{}'::jsonb END)::json
                       FROM files x WHERE x.id = p_id)
                ELSE (SELECT (folder_json(f, CASE WHEN p_scoped THEN folder_path_within(f.id, p_root) END,
                                          permissions_json(p_perms))::jsonb
                              || CASE WHEN p_scoped AND f.id = p_root THEN '{"parent_id": null}'::jsonb
                                      ELSE '{}'::jsonb END)::json
                        FROM folders f WHERE f.id = p_id)
           END
$$;

CREATE OR REPLACE FUNCTION share_item_json(p_link uuid, p_kind text, p_id uuid, p_root uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT item_json_as(item_permissions(NULL, p_link, p_kind, p_id), p_kind, p_id, p_root, true)
$$;

-- Everything a handler needs to show an item to user p_user: the
-- permissions (empty: answer 404), the owner, where the user's view begins
-- (NULL for the owner, and for a file shared by itself), the item's JSON,
-- and for folders the breadcrumb and the permissions of its contents (NULL
-- for the owner: the owner's).
CREATE FUNCTION item_view(p_user uuid, p_kind text, p_id uuid,
                          OUT perms text[], OUT owner uuid, OUT root uuid, OUT item json,
                          OUT breadcrumb json, OUT child_perms json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    scoped boolean;
BEGIN
    perms := item_permissions(p_user, NULL, p_kind, p_id);
    IF NOT ('view' = ANY (perms)) THEN
        RETURN;
    END IF;
    owner := item_owner(p_kind, p_id);
    scoped := owner IS DISTINCT FROM p_user;
    IF scoped THEN
        root := grant_root(p_user, CASE WHEN p_kind = 'file'
                                        THEN (SELECT folder_id FROM files WHERE id = p_id)
                                        ELSE p_id END);
    END IF;
    item := item_json_as(perms, p_kind, p_id, root, scoped);
    IF p_kind = 'folder' THEN
        breadcrumb := folder_breadcrumb_within(p_id, root);
        IF scoped THEN
            -- what is inside is strictly below the grant: an editor may delete it
            child_perms := permissions_json(perms || CASE WHEN 'upload' = ANY (perms)
                                                          THEN ARRAY['delete'] ELSE '{}' END);
        END IF;
    END IF;
END $$;

-- Take the tree locks of several users, in one order, against deadlocks.
CREATE FUNCTION tree_lock_all(p_users uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    u uuid;
BEGIN
    FOR u IN SELECT DISTINCT x FROM unnest(p_users) x WHERE x IS NOT NULL ORDER BY 1 LOOP
        PERFORM tree_lock(u);
    END LOOP;
END $$;

-- ---------------------------------------------------------------- uploads

-- file_store's p_user is now whoever uploads: the file belongs to the
-- folder's owner (and is charged to them), the version records the uploader.
DROP FUNCTION file_store(uuid, uuid, text, bytea, bigint, text, text, text[], text, integer);
CREATE FUNCTION file_store(p_user uuid, p_folder uuid, p_name text, p_sha bytea,
                           p_size bigint, p_mime text, p_description text, p_tags text[],
                           p_policy text, p_keep integer,
                           OUT file json, OUT compression text, OUT blob_new boolean,
                           OUT file_id uuid, OUT version integer,
                           OUT stored_name text, OUT owner uuid)
LANGUAGE plpgsql AS $$
DECLARE
    f files;
    attempt integer := 0;
    candidate text := p_name;
BEGIN
    SELECT d.user_id INTO owner FROM folders d WHERE d.id = p_folder AND NOT d.is_deleted;
    IF owner IS NULL THEN
        RAISE EXCEPTION 'no such folder' USING ERRCODE = 'foreign_key_violation';
    END IF;
    PERFORM tree_lock(owner);
    -- under the lock: the folder is still live and the uploader still may
    IF NOT ('upload' = ANY (item_permissions(p_user, NULL, 'folder', p_folder))) THEN
        RAISE EXCEPTION 'no such folder' USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- gc takes the same lock before it removes a file that no row accounts
    -- for, so it never removes the copy this upload is about to commit to
    PERFORM pg_advisory_xact_lock(blob_lock_key(p_sha));
    INSERT INTO blobs (sha256, size, stored_size, mime_type)
        VALUES (p_sha, p_size, p_size, p_mime)
        ON CONFLICT (sha256) DO NOTHING
        RETURNING blobs.compression INTO compression;
    blob_new := FOUND;
    IF blob_new THEN
        PERFORM pg_notify('coffer_jobs', 'blob');   -- wake the compression job at commit
    END IF;
    IF NOT blob_new THEN
        SELECT b.compression INTO compression FROM blobs b WHERE b.sha256 = p_sha FOR SHARE;
        IF NOT FOUND THEN   -- removed by gc between the two statements
            INSERT INTO blobs (sha256, size, stored_size, mime_type)
                VALUES (p_sha, p_size, p_size, p_mime)
                RETURNING blobs.compression INTO compression;
            blob_new := true;
        END IF;
    END IF;

    LOOP
        attempt := attempt + 1;
        IF p_policy = 'version' THEN
            SELECT * INTO f FROM files x
             WHERE x.folder_id = p_folder AND x.name = p_name AND NOT x.is_deleted
             FOR UPDATE;
            IF FOUND THEN
                DELETE FROM file_versions v
                 WHERE v.file_id = f.id AND v.version_number <= f.version + 1 - p_keep;
                UPDATE file_versions v SET is_current = false
                 WHERE v.file_id = f.id AND v.is_current;
                INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type,
                                           is_current, created_by)
                    VALUES (f.id, f.version + 1, p_sha, p_size, p_mime, true, p_user);
                UPDATE files x SET sha256 = p_sha, size = p_size, mime_type = p_mime,
                       version = f.version + 1, updated_at = now(),
                       description = coalesce(p_description, x.description),
                       tags = coalesce(p_tags, x.tags)
                 WHERE x.id = f.id RETURNING * INTO f;
                EXIT;
            END IF;
        END IF;
        BEGIN
            INSERT INTO files (user_id, folder_id, name, original_name, sha256, size, mime_type,
                               description, tags)
                VALUES (owner, p_folder, candidate, p_name, p_sha, p_size, p_mime,
                        coalesce(p_description, ''), coalesce(p_tags, '{}'))
                RETURNING * INTO f;
        EXCEPTION WHEN unique_violation THEN
            IF p_policy <> 'rename' OR attempt >= 1000 THEN
                -- 'version' lands here only when a folder has the name
                RAISE;
            END IF;
            candidate := file_numbered_name(p_name, attempt);
            CONTINUE;
        END;
        INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type,
                                   is_current, created_by)
            VALUES (f.id, 1, p_sha, p_size, p_mime, true, p_user);
        EXIT;
    END LOOP;
    file_id := f.id;
    version := f.version;
    stored_name := f.name;
    file := CASE WHEN owner = p_user THEN file_json(f)
                 ELSE (SELECT v.item FROM item_view(p_user, 'file', f.id) v) END;
END $$;

-- ---------------------------------------------------------------- tree operations

-- A copy now belongs to the target folder's owner (p_owner), whoever owned
-- the original; p_actor made it. The caller has checked the permissions.
DROP FUNCTION tree_copy(uuid, uuid, uuid, text);
CREATE FUNCTION tree_copy(p_owner uuid, p_actor uuid, p_id uuid, p_target uuid, p_policy text)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    f files;
    d folders;
    new_id uuid := gen_random_uuid();
BEGIN
    SELECT * INTO f FROM files WHERE id = p_id AND NOT is_deleted;
    IF FOUND THEN
        INSERT INTO files (id, user_id, folder_id, name, original_name, sha256, size, mime_type,
                           description, tags)
            VALUES (new_id, p_owner, p_target, tree_free_name(p_target, f.name, 'file', NULL, p_policy),
                    f.original_name, f.sha256, f.size, f.mime_type, f.description, f.tags)
            RETURNING * INTO f;
        INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type, is_current,
                                   created_by)
            VALUES (f.id, 1, f.sha256, f.size, f.mime_type, true, p_actor);
        RETURN file_json(f);
    END IF;
    SELECT * INTO d FROM folders WHERE id = p_id AND NOT is_deleted;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
    END IF;
    IF d.parent_id IS NULL OR folder_is_within(p_target, p_id) THEN
        RAISE EXCEPTION 'invalid_move';
    END IF;
    -- the live subtree in one statement: each copied row's id is derived
    -- from the original's and this copy's new_id, so parents and children
    -- find each other without a mapping table
    WITH RECURSIVE sub(id, parent_id, name, description, depth) AS (
        SELECT id, parent_id, tree_free_name(p_target, name, 'folder', NULL, p_policy), description, 0
          FROM folders WHERE id = p_id
      UNION ALL
        SELECT c.id, c.parent_id, c.name, c.description, sub.depth + 1
          FROM sub JOIN folders c ON c.parent_id = sub.id AND NOT c.is_deleted
         WHERE sub.depth < 100000),
    nd AS (
        INSERT INTO folders (id, user_id, parent_id, name, description)
            SELECT CASE WHEN s.id = p_id THEN new_id ELSE tree_copy_id(new_id, s.id) END, p_owner,
                   CASE WHEN s.id = p_id THEN p_target ELSE
                        CASE WHEN s.parent_id = p_id THEN new_id ELSE tree_copy_id(new_id, s.parent_id) END
                   END,
                   s.name, s.description
              FROM sub s),
    nf AS (
        INSERT INTO files (id, user_id, folder_id, name, original_name, sha256, size, mime_type,
                           description, tags)
            SELECT tree_copy_id(new_id, x.id), p_owner,
                   CASE WHEN x.folder_id = p_id THEN new_id ELSE tree_copy_id(new_id, x.folder_id) END,
                   x.name, x.original_name, x.sha256, x.size, x.mime_type, x.description, x.tags
              FROM files x
             WHERE x.folder_id IN (SELECT id FROM sub) AND NOT x.is_deleted
            RETURNING id, sha256, size, mime_type)
    INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type, is_current,
                               created_by)
        SELECT id, 1, sha256, size, mime_type, true, p_actor FROM nf;
    SELECT * INTO d FROM folders WHERE id = new_id;
    RETURN folder_json(d);
END $$;

-- p_user is whoever asks. Move, copy and delete work on any live item that
-- item_permissions() lets them (move: edit on the item and upload on the
-- target, both of one owner; copy: download on the item and upload on the
-- target, the copy belonging to the target's owner; delete: delete, into
-- the owner's trash). Restore and purge work on the caller's own trash.
-- The tree locks of every owner involved are taken first, in one order.
CREATE OR REPLACE FUNCTION tree_apply(p_user uuid, p_op text, p_items uuid[], p_target uuid, p_policy text)
RETURNS TABLE (item_id uuid, ok boolean, body json)
LANGUAGE plpgsql AS $$
DECLARE
    i uuid;
    st text;
    cn text;
    msg text;
    tgt_owner uuid;
    kind text;
    owner uuid;
    perms text[];
BEGIN
    IF p_op NOT IN ('move', 'copy', 'delete', 'restore', 'purge') THEN
        RAISE EXCEPTION 'unknown tree operation %', p_op;
    END IF;
    IF p_op IN ('move', 'copy') THEN
        tgt_owner := item_owner('folder', p_target);
        PERFORM tree_lock_all(ARRAY[p_user, tgt_owner] ||
                              ARRAY(SELECT user_id FROM files WHERE id = ANY (p_items)) ||
                              ARRAY(SELECT user_id FROM folders WHERE id = ANY (p_items)));
        IF NOT ('upload' = ANY (item_permissions(p_user, NULL, 'folder', p_target))) THEN
            RAISE EXCEPTION 'target_not_found' USING ERRCODE = 'no_data_found';
        END IF;
    ELSIF p_op = 'delete' THEN
        PERFORM tree_lock_all(ARRAY[p_user] ||
                              ARRAY(SELECT user_id FROM files WHERE id = ANY (p_items)) ||
                              ARRAY(SELECT user_id FROM folders WHERE id = ANY (p_items)));
    ELSE
        PERFORM tree_lock(p_user);
    END IF;
    FOREACH i IN ARRAY p_items LOOP
        item_id := i;
        BEGIN
            IF p_op IN ('restore', 'purge') THEN
                body := CASE p_op
                    WHEN 'restore' THEN tree_restore(p_user, i, p_policy)
                    ELSE tree_purge(p_user, i)
                END;
            ELSE
                kind := CASE WHEN item_owner('folder', i) IS NOT NULL THEN 'folder'
                             WHEN item_owner('file', i) IS NOT NULL THEN 'file' END;
                perms := CASE WHEN kind IS NULL THEN '{}'
                              ELSE item_permissions(p_user, NULL, kind, i) END;
                IF NOT ('view' = ANY (perms)) THEN
                    RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
                END IF;
                owner := item_owner(kind, i);
                IF p_op = 'move' THEN
                    IF NOT ('edit' = ANY (perms)) THEN
                        RAISE EXCEPTION 'forbidden';
                    END IF;
                    IF owner <> tgt_owner THEN
                        RAISE EXCEPTION 'cross_owner_move';
                    END IF;
                    body := tree_move(owner, i, p_target, p_policy);
                ELSIF p_op = 'copy' THEN
                    IF NOT ('download' = ANY (perms)) THEN
                        RAISE EXCEPTION 'forbidden';
                    END IF;
                    body := tree_copy(tgt_owner, p_user, i, p_target, p_policy);
                ELSE
                    IF NOT ('delete' = ANY (perms)) THEN
                        RAISE EXCEPTION 'forbidden';
                    END IF;
                    body := tree_trash(owner, i);
                END IF;
                -- what the caller sees of someone else's item
                IF p_op <> 'delete' AND coalesce(tgt_owner, owner) <> p_user THEN
                    body := (SELECT v.item FROM item_view(p_user, kind, (body->>'id')::uuid) v);
                END IF;
            END IF;
            ok := true;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, cn = CONSTRAINT_NAME, msg = MESSAGE_TEXT;
            ok := false;
            RAISE LOG 'tree_apply % %: % (SQLSTATE %, constraint %)', p_op, i, msg, st, cn;
            body := CASE
                WHEN st = 'P0002' THEN json_build_object('status', 404, 'code', 'not_found',
                    'detail', 'No such file or folder.')
                WHEN st = '23505' THEN json_build_object('status', 409, 'code', 'name_conflict',
                    'detail', 'An item with this name already exists in the target folder.')
                WHEN st = '23514' AND cn = 'users_usage_within_quota' THEN json_build_object('status', 507,
                    'code', 'quota_exceeded', 'detail', 'This would exceed the storage quota of the target folder''s owner.')
                WHEN st = 'P0001' AND msg = 'invalid_move' THEN json_build_object('status', 409,
                    'code', 'invalid_move',
                    'detail', 'A folder cannot be put into itself or one of its subfolders, and the root folder cannot move.')
                WHEN st = 'P0001' AND msg = 'root_folder' THEN json_build_object('status', 403,
                    'code', 'forbidden', 'detail', 'The root folder cannot be deleted.')
                WHEN st = 'P0001' AND msg = 'forbidden' THEN json_build_object('status', 403,
                    'code', 'forbidden', 'detail', CASE p_op
                        WHEN 'move' THEN 'You may not move this item.'
                        WHEN 'copy' THEN 'You may not copy this item.'
                        ELSE 'You may not delete this item.' END)
                WHEN st = 'P0001' AND msg = 'cross_owner_move' THEN json_build_object('status', 409,
                    'code', 'cross_owner_move',
                    'detail', 'Items cannot be moved into a folder of another owner; copy them instead.')
                WHEN st IN ('40001', '40P01') THEN NULL
                ELSE json_build_object('status', 500, 'code', 'internal_error',
                    'detail', 'The item could not be processed.')
            END;
            IF body IS NULL THEN
                RAISE;   -- serialization failure or deadlock: the caller retries the whole batch
            END IF;
        END;
        RETURN NEXT;
    END LOOP;
END $$;

-- tree_apply, plus one activity entry per item done in the caller's log,
-- and one in the owner's when that is someone else (details.actor_id).
CREATE OR REPLACE FUNCTION tree_apply_logged(p_user uuid, p_op text, p_items uuid[], p_target uuid,
                                             p_policy text, p_ip text, p_ua text)
RETURNS TABLE (item_id uuid, ok boolean, body json)
LANGUAGE sql AS $$
    WITH r AS MATERIALIZED (
        SELECT t.item_id, t.ok, t.body, t.o
          FROM tree_apply(p_user, p_op, p_items, p_target, p_policy) WITH ORDINALITY AS t(item_id, ok, body, o)),
    d AS MATERIALIZED (
        SELECT r.item_id, (r.body->>'id')::uuid AS id, r.body->>'kind' AS kind, r.body->>'name' AS name,
               -- this statement does not see the copies it makes: they
               -- belong to the target folder's owner
               CASE WHEN p_op = 'copy' THEN item_owner('folder', p_target)
                    ELSE coalesce((SELECT x.user_id FROM files x WHERE x.id = (r.body->>'id')::uuid),
                                  (SELECT x.user_id FROM folders x WHERE x.id = (r.body->>'id')::uuid))
               END AS owner
          FROM r WHERE r.ok),
    a AS (
        INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, ip_address,
                                  user_agent, details)
        SELECT w.who, p_op, d.id, d.kind, d.name,
               CASE WHEN p_ip ~ '^[0-9a-fA-F.:]+$' THEN p_ip::inet END, left(p_ua, 512),
               nullif(jsonb_strip_nulls(jsonb_build_object(
                   'target_folder_id', CASE WHEN p_op IN ('move', 'copy') THEN p_target END,
                   'source_id', CASE WHEN p_op IN ('move', 'copy') THEN d.item_id END,
                   'actor_id', CASE WHEN w.who <> p_user THEN p_user END)), '{}'::jsonb)
          FROM d CROSS JOIN LATERAL (SELECT p_user AS who
                                     UNION SELECT d.owner WHERE d.owner <> p_user) w)
    SELECT r.item_id, r.ok, r.body FROM r ORDER BY r.o
$$;

-- The size of an operation on the items the caller may see (their own
-- trash when p_trashed): the items, every live item below the folders among
-- them, and the current size of every file among all of those.
CREATE OR REPLACE FUNCTION tree_plan(p_user uuid, p_items uuid[], p_trashed boolean DEFAULT false,
                                     OUT items bigint, OUT bytes bigint)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE sub(id, depth) AS (
        SELECT f.id, 0 FROM folders f
         WHERE f.id = ANY (p_items) AND f.is_deleted = p_trashed
           AND (f.user_id = p_user
                OR (NOT p_trashed AND 'view' = ANY (item_permissions(p_user, NULL, 'folder', f.id))))
      UNION ALL
        SELECT c.id, sub.depth + 1 FROM sub JOIN folders c ON c.parent_id = sub.id
         WHERE c.is_deleted = p_trashed AND sub.depth < 100000),
    fl AS (
        SELECT x.id, x.size FROM files x
         WHERE x.folder_id IN (SELECT id FROM sub) AND x.is_deleted = p_trashed
        UNION
        SELECT x.id, x.size FROM files x
         WHERE x.id = ANY (p_items) AND x.is_deleted = p_trashed
           AND (x.user_id = p_user
                OR (NOT p_trashed AND 'view' = ANY (item_permissions(p_user, NULL, 'file', x.id)))))
    SELECT (SELECT count(*) FROM sub) + (SELECT count(*) FROM fl),
           (SELECT coalesce(sum(size), 0) FROM fl)::bigint
$$;

-- ---------------------------------------------------------------- grants

CREATE FUNCTION grant_json(g grants) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', g.id,
        'kind', CASE WHEN g.file_id IS NOT NULL THEN 'file' ELSE 'folder' END,
        'item_id', coalesce(g.file_id, g.folder_id),
        'item_name', coalesce((SELECT name FROM files WHERE id = g.file_id),
                              (SELECT name FROM folders WHERE id = g.folder_id)),
        'role', g.role,
        'owner', (SELECT json_build_object('id', u.id, 'username', u.username)
                    FROM users u WHERE u.id = g.owner_id),
        'grantee', (SELECT json_build_object('id', u.id, 'username', u.username)
                      FROM users u WHERE u.id = g.grantee_id),
        'created_at', api_time(g.created_at),
        'updated_at', api_time(g.updated_at))
$$;

-- Is the grant's item live (not in the owner's trash)?
CREATE FUNCTION grant_live(g grants) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT item_owner(CASE WHEN g.file_id IS NOT NULL THEN 'file' ELSE 'folder' END,
                      coalesce(g.file_id, g.folder_id)) IS NOT NULL
$$;
