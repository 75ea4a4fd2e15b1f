-- 010_move_owner: moving items between owners.
--
-- Until now an item kept its owner for life (409 cross_owner_move). Now a
-- move into a folder of another owner hands the item, and everything live
-- below it, to that owner: usage leaves the old owner and is charged to the
-- new one in the same statement (507 when it does not fit), folder totals
-- follow the tree as for any move. It takes edit and delete on the item
-- (it leaves its owner's tree, as good as deleting it there) and upload on
-- the target. What the old owner had made around the items stays theirs
-- and stops applying: their links and grants on the moved items are
-- deleted, and their trash units that lay inside move to their root (where
-- a restore would put them anyway, as after a purge).

CREATE OR REPLACE FUNCTION folders_name_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.is_deleted AND NEW.parent_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR OLD.is_deleted OR NEW.name <> OLD.name
            OR NEW.parent_id IS DISTINCT FROM OLD.parent_id)
       AND EXISTS (SELECT 1 FROM files x WHERE x.folder_id = NEW.parent_id AND x.name = NEW.name
                      AND NOT x.is_deleted) THEN
        RAISE EXCEPTION 'a file has this name' USING ERRCODE = 'unique_violation',
            CONSTRAINT = 'folders_sibling_name';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id AND NEW.parent_id IS NULL THEN
        RAISE EXCEPTION 'root folders do not change owner' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

-- Files going to or from the trash, or to another owner, release their
-- versions from one user and charge them to another, in one statement.
CREATE OR REPLACE FUNCTION files_usage_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users u SET storage_used = u.storage_used + d.s
      FROM (SELECT x.who, sum(x.s) AS s FROM (
                SELECT o.user_id AS who, -v.size AS s
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  JOIN file_versions v ON v.file_id = n.id
                 WHERE NOT o.is_deleted AND (n.is_deleted OR n.user_id <> o.user_id)
                UNION ALL
                SELECT n.user_id, v.size
                  FROM new_rows n JOIN old_rows o ON o.id = n.id
                  JOIN file_versions v ON v.file_id = n.id
                 WHERE NOT n.is_deleted AND (o.is_deleted OR n.user_id <> o.user_id)) x
             GROUP BY x.who) d
     WHERE u.id = d.who AND d.s <> 0;
    RETURN NULL;
END $$;

-- Move p_id (owned by p_owner) into p_target, a folder of p_new.
CREATE FUNCTION tree_move_owner(p_owner uuid, p_new uuid, p_id uuid, p_target uuid, p_policy text)
RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    kind text := tree_item_kind(p_owner, p_id);
    sub uuid[];
    old_root uuid;
    f files;
    d folders;
BEGIN
    SELECT root_folder_id INTO old_root FROM users WHERE id = p_owner;
    IF kind = 'file' THEN
        SELECT * INTO f FROM files WHERE id = p_id FOR UPDATE;
        DELETE FROM shares WHERE file_id = p_id;
        DELETE FROM grants WHERE file_id = p_id;
        UPDATE files SET folder_id = p_target, user_id = p_new, updated_at = now(),
               name = tree_free_name(p_target, f.name, 'file', f.id, p_policy)
         WHERE id = p_id RETURNING * INTO f;
        RETURN file_json(f);
    ELSIF kind = 'folder' THEN
        SELECT * INTO d FROM folders WHERE id = p_id FOR UPDATE;
        IF d.parent_id IS NULL OR folder_is_within(p_target, p_id) THEN
            RAISE EXCEPTION 'invalid_move';
        END IF;
        WITH RECURSIVE s(id, depth) AS (
            SELECT p_id, 0
          UNION ALL
            SELECT c.id, s.depth + 1 FROM s JOIN folders c ON c.parent_id = s.id AND NOT c.is_deleted
             WHERE s.depth < 100000)
        SELECT array_agg(id) INTO sub FROM s;
        UPDATE files SET folder_id = old_root WHERE folder_id = ANY (sub) AND is_deleted;
        UPDATE folders SET parent_id = old_root WHERE parent_id = ANY (sub) AND is_deleted;
        DELETE FROM shares WHERE folder_id = ANY (sub)
            OR file_id IN (SELECT id FROM files WHERE folder_id = ANY (sub));
        DELETE FROM grants WHERE folder_id = ANY (sub)
            OR file_id IN (SELECT id FROM files WHERE folder_id = ANY (sub));
        UPDATE folders SET parent_id = p_target, user_id = p_new, updated_at = now(),
               name = tree_free_name(p_target, d.name, 'folder', d.id, p_policy)
         WHERE id = p_id RETURNING * INTO d;
        UPDATE folders SET user_id = p_new WHERE id = ANY (sub) AND id <> p_id;
        UPDATE files SET user_id = p_new WHERE folder_id = ANY (sub);
        RETURN folder_json(d);
    END IF;
    RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
END $$;

-- A move needs edit on the item; into another owner's folder also delete.
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
                    ELSIF owner = tgt_owner THEN
                        body := tree_move(owner, i, p_target, p_policy);
                    ELSIF NOT ('delete' = ANY (perms)) THEN
                        -- it leaves its owner's tree: as good as deleting it there
                        RAISE EXCEPTION 'forbidden';
                    ELSE
                        body := tree_move_owner(owner, tgt_owner, i, p_target, p_policy);
                    END IF;
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
-- one in the owner's when that is someone else (details.actor_id), and for
-- a move into another owner's folder one in that owner's too.
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
                                     UNION SELECT d.owner WHERE d.owner <> p_user
                                     -- a move into another owner's folder: theirs too
                                     UNION SELECT t.o FROM (SELECT item_owner('folder', p_target) AS o) t
                                      WHERE p_op = 'move' AND t.o <> p_user) w)
    SELECT r.item_id, r.ok, r.body FROM r ORDER BY r.o
$$;

