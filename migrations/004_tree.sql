-- 004_tree: folders as a tree, listings, move/copy, the trash, background jobs.
--
-- * parent_id is the only truth about the tree. Paths are computed from it
--   (folder_path), never stored, so moving a folder touches one row however
--   many descendants it has.
-- * folders.file_count / total_size count the live files of the whole
--   subtree (current size). Statement-level triggers add each change to the
--   folder and all its ancestors, so a bulk change walks the tree once.
-- * Every change to a user's tree or usage takes that user's tree lock
--   (tree_lock) first. Changes of one user are serialised (they already were,
--   on the users row), two moves cannot race into a cycle, and an upload
--   cannot land in a folder that is being trashed.
-- * The trash works in units: deleting a folder marks it and its live
--   subtree with trash_id = the folder's id; deleting a file alone, with its
--   own id. Restore and purge act on a unit.
-- * Names are unique among the live items of a folder, across files and
--   folders (an index per table, a trigger between the two).
-- * Usage and reference counts (003) move to statement-level triggers, so a
--   copy or trash of 10,000 files updates the user's row once, not 10,000
--   times.

ALTER TABLE folders DROP COLUMN path;
ALTER TABLE folders ADD COLUMN trash_id uuid;
ALTER TABLE files ADD COLUMN trash_id uuid;
ALTER TABLE folders ADD CONSTRAINT folders_trash_shape CHECK (is_deleted = (trash_id IS NOT NULL));
ALTER TABLE files ADD CONSTRAINT files_trash_shape CHECK (is_deleted = (trash_id IS NOT NULL)) NOT VALID;
UPDATE files SET trash_id = id WHERE is_deleted AND trash_id IS NULL;
ALTER TABLE files VALIDATE CONSTRAINT files_trash_shape;

CREATE INDEX folders_trash ON folders (trash_id) WHERE trash_id IS NOT NULL;
CREATE INDEX files_trash ON files (trash_id) WHERE trash_id IS NOT NULL;
CREATE INDEX folders_trash_roots ON folders (user_id, deleted_at DESC, id DESC) WHERE trash_id = id;
CREATE INDEX files_trash_roots ON files (user_id, deleted_at DESC, id DESC) WHERE trash_id = id;
CREATE INDEX folders_parent ON folders (parent_id);

-- Listing orders: folders first, then files; ties by lower(name), then id.
-- Byte order (COLLATE "C") so that every locale lists alike.
CREATE INDEX files_list_name ON files (folder_id, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX files_list_size ON files (folder_id, size, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX files_list_created ON files (folder_id, created_at, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX files_list_updated ON files (folder_id, updated_at, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX files_list_type ON files (folder_id, (mime_type COLLATE "C"), (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX folders_list_name ON folders (parent_id, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX folders_list_size ON folders (parent_id, total_size, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX folders_list_created ON folders (parent_id, created_at, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
CREATE INDEX folders_list_updated ON folders (parent_id, updated_at, (lower(name) COLLATE "C"), id) WHERE NOT is_deleted;
DROP INDEX files_folder_name;   -- files_sibling_name covers it

-- ---------------------------------------------------------------- locking

-- The user's tree lock: (1, hash) lives in the two-key advisory space, apart
-- from the blob locks (blob_lock_key, one bigint).
CREATE FUNCTION tree_lock(p_user uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(1, hashtext(p_user::text))
$$;

-- ---------------------------------------------------------------- names and paths

-- A folder and every folder above it, up to the root: depth 0 is the
-- folder itself.
CREATE FUNCTION folder_ancestors(p_id uuid)
RETURNS TABLE (id uuid, parent_id uuid, name text, depth integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(id, parent_id, name, depth) AS (
        SELECT f.id, f.parent_id, f.name, 0 FROM folders f WHERE f.id = p_id
      UNION ALL
        SELECT f.id, f.parent_id, f.name, up.depth + 1
          FROM up JOIN folders f ON f.id = up.parent_id
         WHERE up.depth < 100000)
    SELECT * FROM up
$$;

-- '/' for the root, '/Photos/2024' for the rest.
CREATE FUNCTION folder_path(p_id uuid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN count(*) = 0 THEN NULL
                WHEN count(*) = 1 THEN '/'
                ELSE string_agg('/' || a.name, '' ORDER BY a.depth DESC) FILTER (WHERE a.parent_id IS NOT NULL)
           END
      FROM folder_ancestors(p_id) a
$$;

-- Ancestors of a folder from the root down to its parent: [{"id","name"}].
CREATE FUNCTION folder_breadcrumb(p_id uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name) ORDER BY a.depth DESC)
                    FILTER (WHERE a.depth > 0), '[]'::json)
      FROM folder_ancestors(p_id) a
$$;

-- What the caller may do with an item. Owners may do everything; sharing
-- (issue 5) brings the other principals.
CREATE FUNCTION owner_permissions() RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"view": true, "download": true, "edit": true, "delete": true, "share": true, "upload": true}'::json
$$;

-- The folder object of the API; p_path when the caller already knows it.
CREATE FUNCTION folder_json(f folders, p_path text DEFAULT NULL) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'kind', 'folder',
        'id', f.id,
        'name', f.name,
        'parent_id', f.parent_id,
        -- from the parent, so that a row written by the same statement has one
        'path', coalesce(p_path, CASE WHEN f.parent_id IS NULL THEN '/'
                                      ELSE rtrim(folder_path(f.parent_id), '/') || '/' || f.name END),
        'description', f.description,
        'file_count', f.file_count,
        'total_size', f.total_size,
        'created_at', api_time(f.created_at),
        'updated_at', api_time(f.updated_at),
        'permissions', owner_permissions())
$$;

-- The file object (003) now carries the caller's permissions too.
CREATE OR REPLACE FUNCTION file_json(f files) RETURNS json
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
        'permissions', owner_permissions())
$$;

-- The category of a MIME type, for ?type= filters.
CREATE FUNCTION mime_category(m text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN m LIKE 'image/%' THEN 'image'
        WHEN m LIKE 'video/%' THEN 'video'
        WHEN m LIKE 'audio/%' THEN 'audio'
        WHEN m IN ('application/zip', 'application/x-tar', 'application/gzip', 'application/x-gzip',
                   'application/x-7z-compressed', 'application/vnd.rar', 'application/x-rar',
                   'application/x-rar-compressed', 'application/x-bzip2', 'application/x-xz',
                   'application/zstd', 'application/x-zstd') THEN 'archive'
        WHEN m IN ('application/pdf', 'application/msword', 'application/vnd.ms-excel',
                   'application/vnd.ms-powerpoint', 'application/rtf', 'text/rtf',
                   'application/epub+zip')
          OR m LIKE 'application/vnd.openxmlformats-officedocument.%'
          OR m LIKE 'application/vnd.oasis.opendocument.%' THEN 'document'
        WHEN m LIKE 'text/%' OR m IN ('application/json', 'application/xml') THEN 'text'
        ELSE 'other'
    END
$$;

-- A live item of p_parent other than (p_kind, p_id) is called p_name.
CREATE FUNCTION tree_name_taken(p_parent uuid, p_name text, p_kind text, p_id uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM files x WHERE x.folder_id = p_parent AND x.name = p_name
                      AND NOT x.is_deleted AND (p_kind <> 'file' OR x.id IS DISTINCT FROM p_id))
        OR EXISTS (SELECT 1 FROM folders x WHERE x.parent_id = p_parent AND x.name = p_name
                      AND NOT x.is_deleted AND (p_kind <> 'folder' OR x.id IS DISTINCT FROM p_id))
$$;

-- The name (p_kind, p_id) gets in p_parent: p_name when free; with 'rename'
-- the first free "name (n)" (files keep their extension last); else
-- name_conflict.
CREATE FUNCTION tree_free_name(p_parent uuid, p_name text, p_kind text, p_id uuid, p_policy text)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    candidate text := p_name;
    stem text;
    n integer := 0;
BEGIN
    WHILE tree_name_taken(p_parent, candidate, p_kind, p_id) LOOP
        IF p_policy <> 'rename' OR n >= 10000 THEN
            RAISE EXCEPTION 'name_conflict' USING ERRCODE = 'unique_violation',
                CONSTRAINT = CASE p_kind WHEN 'file' THEN 'files_sibling_name' ELSE 'folders_sibling_name' END;
        END IF;
        n := n + 1;
        IF p_kind = 'file' THEN
            candidate := file_numbered_name(p_name, n);
        ELSE
            stem := p_name;
            WHILE octet_length(stem || ' (' || n || ')') > 255 AND length(stem) > 1 LOOP
                stem := left(stem, length(stem) - 1);
            END LOOP;
            candidate := stem || ' (' || n || ')';
        END IF;
    END LOOP;
    RETURN candidate;
END $$;

-- Files and folders share the names of a folder: each table's unique index
-- guards its own kind, these triggers the other. Writers of the tree hold
-- the user's tree lock, so the check cannot race.
CREATE FUNCTION files_name_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.is_deleted AND (TG_OP = 'INSERT' OR OLD.is_deleted OR NEW.name <> OLD.name
                               OR NEW.folder_id <> OLD.folder_id)
       AND EXISTS (SELECT 1 FROM folders x WHERE x.parent_id = NEW.folder_id AND x.name = NEW.name
                      AND NOT x.is_deleted) THEN
        RAISE EXCEPTION 'a folder has this name' USING ERRCODE = 'unique_violation',
            CONSTRAINT = 'files_sibling_name';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER files_name_guard BEFORE INSERT OR UPDATE OF name, folder_id, is_deleted ON files
    FOR EACH ROW EXECUTE FUNCTION files_name_guard();

CREATE FUNCTION folders_name_guard() RETURNS trigger
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
    IF TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id THEN
        RAISE EXCEPTION 'folders do not change owner' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER folders_name_guard BEFORE INSERT OR UPDATE OF name, parent_id, is_deleted, user_id ON folders
    FOR EACH ROW EXECUTE FUNCTION folders_name_guard();

-- ---------------------------------------------------------------- folder totals

-- Add (count, size) deltas of some folders to them and every ancestor.
-- Ancestor rows are locked in id order, so concurrent bulk changes of one
-- user (already serialised by the tree lock) and of different users (who
-- share no folder) cannot deadlock.
CREATE FUNCTION tree_totals_add(p_ids uuid[], p_counts bigint[], p_sizes bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[]; cs bigint[]; ss bigint[];
BEGIN
    WITH RECURSIVE d AS (
        SELECT t.id, sum(t.c)::bigint AS c, sum(t.s)::bigint AS s
          FROM unnest(p_ids, p_counts, p_sizes) AS t(id, c, s)
         GROUP BY t.id HAVING sum(t.c) <> 0 OR sum(t.s) <> 0),
    up(id, c, s, depth) AS (
        SELECT id, c, s, 0 FROM d
      UNION ALL
        SELECT f.parent_id, up.c, up.s, up.depth + 1
          FROM up JOIN folders f ON f.id = up.id
         WHERE f.parent_id IS NOT NULL AND up.depth < 100000)
    SELECT array_agg(id ORDER BY id), array_agg(c ORDER BY id), array_agg(s ORDER BY id)
      INTO ids, cs, ss
      FROM (SELECT id, sum(c)::bigint AS c, sum(s)::bigint AS s FROM up GROUP BY id) a
     WHERE a.c <> 0 OR a.s <> 0;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM folders f WHERE f.id IN (SELECT unnest(ids)) ORDER BY f.id FOR NO KEY UPDATE;
    UPDATE folders f SET file_count = f.file_count + d.c, total_size = f.total_size + d.s
      FROM unnest(ids, cs, ss) AS d(id, c, s)
     WHERE f.id = d.id;
END $$;

CREATE FUNCTION files_totals_ins() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[]; cs bigint[]; ss bigint[];
BEGIN
    SELECT array_agg(folder_id), array_agg(c), array_agg(s) INTO ids, cs, ss
      FROM (SELECT folder_id, count(*) AS c, sum(size)::bigint AS s FROM new_rows
             WHERE NOT is_deleted GROUP BY folder_id) d;
    IF ids IS NOT NULL THEN
        PERFORM tree_totals_add(ids, cs, ss);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION files_totals_del() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[]; cs bigint[]; ss bigint[];
BEGIN
    SELECT array_agg(folder_id), array_agg(c), array_agg(s) INTO ids, cs, ss
      FROM (SELECT folder_id, -count(*) AS c, -sum(size)::bigint AS s FROM old_rows
             WHERE NOT is_deleted GROUP BY folder_id) d;
    IF ids IS NOT NULL THEN
        PERFORM tree_totals_add(ids, cs, ss);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION files_totals_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[]; cs bigint[]; ss bigint[];
BEGIN
    SELECT array_agg(folder_id), array_agg(c), array_agg(s) INTO ids, cs, ss
      FROM (SELECT folder_id, sum(c)::bigint AS c, sum(s)::bigint AS s
              FROM (SELECT n.folder_id, 1 AS c, n.size AS s
                      FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE NOT n.is_deleted
                       AND (o.is_deleted OR o.folder_id <> n.folder_id OR o.size <> n.size)
                    UNION ALL
                    SELECT o.folder_id, -1, -o.size
                      FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE NOT o.is_deleted
                       AND (n.is_deleted OR o.folder_id <> n.folder_id OR o.size <> n.size)) x
             GROUP BY folder_id) d;
    IF ids IS NOT NULL THEN
        PERFORM tree_totals_add(ids, cs, ss);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER files_totals_ins AFTER INSERT ON files REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION files_totals_ins();
CREATE TRIGGER files_totals_del AFTER DELETE ON files REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION files_totals_del();
CREATE TRIGGER files_totals_upd AFTER UPDATE ON files
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION files_totals_upd();

-- A live folder that changes parent takes its totals from its old
-- ancestors to its new ones.
CREATE FUNCTION folders_totals_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[]; cs bigint[]; ss bigint[];
BEGIN
    SELECT array_agg(id), array_agg(c), array_agg(s) INTO ids, cs, ss
      FROM (SELECT n.parent_id AS id, o.file_count AS c, o.total_size AS s
              FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.parent_id IS DISTINCT FROM o.parent_id AND NOT n.is_deleted AND NOT o.is_deleted
               AND n.parent_id IS NOT NULL
            UNION ALL
            SELECT o.parent_id, -o.file_count, -o.total_size
              FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE n.parent_id IS DISTINCT FROM o.parent_id AND NOT n.is_deleted AND NOT o.is_deleted
               AND o.parent_id IS NOT NULL) d;
    IF ids IS NOT NULL THEN
        PERFORM tree_totals_add(ids, cs, ss);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER folders_totals_upd AFTER UPDATE ON folders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION folders_totals_upd();

-- Folders made before this migration: their totals from a recount.
WITH RECURSIVE sub(top, id) AS (
    SELECT id, id FROM folders WHERE NOT is_deleted
  UNION ALL
    SELECT sub.top, c.id FROM sub JOIN folders c ON c.parent_id = sub.id AND NOT c.is_deleted)
UPDATE folders f SET file_count = r.n, total_size = r.s
  FROM (SELECT sub.top, count(x.id) AS n, coalesce(sum(x.size), 0) AS s
          FROM sub LEFT JOIN files x ON x.folder_id = sub.id AND NOT x.is_deleted
         GROUP BY sub.top) r
 WHERE r.top = f.id AND (f.file_count <> r.n OR f.total_size <> r.s);

-- ---------------------------------------------------------------- usage, set-based

DROP TRIGGER file_versions_account ON file_versions;
DROP FUNCTION file_versions_account();
DROP TRIGGER files_trash_account ON files;
DROP FUNCTION files_trash_account();

-- Blob rows are locked in hash order, so copies of the same blobs by two
-- users cannot deadlock.
CREATE FUNCTION file_versions_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM blobs b WHERE b.sha256 IN (SELECT sha256 FROM new_rows)
      ORDER BY b.sha256 FOR NO KEY UPDATE;
    UPDATE blobs b SET ref_count = b.ref_count + d.n
      FROM (SELECT sha256, count(*) AS n FROM new_rows GROUP BY sha256) d
     WHERE b.sha256 = d.sha256;
    UPDATE users u SET storage_used = u.storage_used + d.s
      FROM (SELECT f.user_id, sum(v.size) AS s FROM new_rows v JOIN files f ON f.id = v.file_id
             WHERE NOT f.is_deleted GROUP BY f.user_id) d
     WHERE u.id = d.user_id;
    RETURN NULL;
END $$;

-- A version removed from a live file gives its bytes back; when the file row
-- itself is being deleted, files_release already did.
CREATE FUNCTION file_versions_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM blobs b WHERE b.sha256 IN (SELECT sha256 FROM old_rows)
      ORDER BY b.sha256 FOR NO KEY UPDATE;
    UPDATE blobs b SET ref_count = b.ref_count - d.n
      FROM (SELECT sha256, count(*) AS n FROM old_rows GROUP BY sha256) d
     WHERE b.sha256 = d.sha256;
    UPDATE users u SET storage_used = u.storage_used - d.s
      FROM (SELECT f.user_id, sum(v.size) AS s FROM old_rows v JOIN files f ON f.id = v.file_id
             WHERE NOT f.is_deleted GROUP BY f.user_id) d
     WHERE u.id = d.user_id;
    RETURN NULL;
END $$;

CREATE TRIGGER file_versions_added AFTER INSERT ON file_versions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION file_versions_added();
CREATE TRIGGER file_versions_removed AFTER DELETE ON file_versions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION file_versions_removed();

-- Files moving to or from the trash release or charge all their versions.
CREATE FUNCTION files_usage_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.user_id <> o.user_id) THEN
        RAISE EXCEPTION 'files do not change owner' USING ERRCODE = 'restrict_violation';
    END IF;
    UPDATE users u SET storage_used = u.storage_used + d.s
      FROM (SELECT n.user_id,
                   sum(CASE WHEN n.is_deleted THEN -v.size ELSE v.size END) AS s
              FROM new_rows n JOIN old_rows o ON o.id = n.id
              JOIN file_versions v ON v.file_id = n.id
             WHERE n.is_deleted <> o.is_deleted
             GROUP BY n.user_id) d
     WHERE u.id = d.user_id AND d.s <> 0;
    RETURN NULL;
END $$;
-- named to fire after files_totals_upd: folders are locked before users
CREATE TRIGGER files_usage_upd AFTER UPDATE ON files
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION files_usage_upd();

-- ---------------------------------------------------------------- uploads

-- file_store (003) now takes the tree lock and refuses a folder that is not
-- the user's live folder (foreign_key_violation: 404 for the caller).
-- Dropped first: CREATE OR REPLACE cannot change a function's OUT row, and
-- databases migrated with an early 003 have another one.
DROP FUNCTION file_store(uuid, uuid, text, bytea, bigint, text, text, text[], text, integer);
CREATE FUNCTION file_store(p_user uuid, p_folder uuid, p_name text, p_sha bytea,
                           p_size bigint, p_mime text, p_description text, p_tags text[],
                           p_policy text, p_keep integer,
                           OUT file json, OUT compression text, OUT blob_new boolean,
                           OUT file_id uuid, OUT version integer,
                           OUT stored_name text)
LANGUAGE plpgsql AS $$
DECLARE
    f files;
    attempt integer := 0;
    candidate text := p_name;
BEGIN
    PERFORM tree_lock(p_user);
    PERFORM 1 FROM folders d WHERE d.id = p_folder AND d.user_id = p_user AND NOT d.is_deleted;
    IF NOT FOUND THEN
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
                file := file_json(f); file_id := f.id; version := f.version;
                stored_name := f.name;
                RETURN;
            END IF;
        END IF;
        BEGIN
            INSERT INTO files (user_id, folder_id, name, original_name, sha256, size, mime_type,
                               description, tags)
                VALUES (p_user, p_folder, candidate, p_name, p_sha, p_size, p_mime,
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
        file := file_json(f); file_id := f.id; version := 1; stored_name := f.name;
        RETURN;
    END LOOP;
END $$;

-- ---------------------------------------------------------------- tree operations
--
-- Each operation works on one item (a file or a folder, found by id among
-- the caller's live items) and either returns the item's JSON or raises:
--   'not_found'    (P0002, no_data_found)
--   'invalid_move' (P0001 with that message)
--   'root_folder'  (P0001)
--   name_conflict  (unique_violation)
--   quota          (check_violation on users_usage_within_quota)
-- tree_apply runs a list of them, each in its own subtransaction, and
-- reports item by item.

CREATE FUNCTION tree_item_kind(p_user uuid, p_id uuid, p_trashed boolean DEFAULT false) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM folders WHERE id = p_id AND user_id = p_user AND is_deleted = p_trashed)
            THEN 'folder'
        WHEN EXISTS (SELECT 1 FROM files WHERE id = p_id AND user_id = p_user AND is_deleted = p_trashed)
            THEN 'file'
    END
$$;

-- p_ancestor is p_id or one of its ancestors.
CREATE FUNCTION folder_is_within(p_id uuid, p_ancestor uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM folder_ancestors(p_id) a WHERE a.id = p_ancestor)
$$;

CREATE FUNCTION tree_move(p_user uuid, p_id uuid, p_target uuid, p_policy text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    kind text := tree_item_kind(p_user, p_id);
    f files;
    d folders;
BEGIN
    IF kind = 'file' THEN
        SELECT * INTO f FROM files WHERE id = p_id FOR UPDATE;
        IF f.folder_id <> p_target THEN
            UPDATE files SET folder_id = p_target, updated_at = now(),
                   name = tree_free_name(p_target, f.name, 'file', f.id, p_policy)
             WHERE id = p_id RETURNING * INTO f;
        END IF;
        RETURN file_json(f);
    ELSIF kind = 'folder' THEN
        SELECT * INTO d FROM folders WHERE id = p_id FOR UPDATE;
        IF d.parent_id IS NULL OR folder_is_within(p_target, p_id) THEN
            RAISE EXCEPTION 'invalid_move';
        END IF;
        IF d.parent_id <> p_target THEN
            UPDATE folders SET parent_id = p_target, updated_at = now(),
                   name = tree_free_name(p_target, d.name, 'folder', d.id, p_policy)
             WHERE id = p_id RETURNING * INTO d;
        END IF;
        RETURN folder_json(d);
    END IF;
    RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
END $$;

-- The id of the copy of p_id made by the copy operation p_op.
CREATE FUNCTION tree_copy_id(p_op uuid, p_id uuid) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT md5(p_op::text || p_id::text)::uuid
$$;

CREATE FUNCTION tree_copy(p_user uuid, p_id uuid, p_target uuid, p_policy text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    kind text := tree_item_kind(p_user, p_id);
    f files;
    d folders;
    new_id uuid := gen_random_uuid();
BEGIN
    IF kind = 'file' THEN
        SELECT * INTO f FROM files WHERE id = p_id;
        INSERT INTO files (id, user_id, folder_id, name, original_name, sha256, size, mime_type,
                           description, tags)
            VALUES (new_id, p_user, p_target, tree_free_name(p_target, f.name, 'file', NULL, p_policy),
                    f.original_name, f.sha256, f.size, f.mime_type, f.description, f.tags)
            RETURNING * INTO f;
        INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type, is_current,
                                   created_by)
            VALUES (f.id, 1, f.sha256, f.size, f.mime_type, true, p_user);
        RETURN file_json(f);
    ELSIF kind = 'folder' THEN
        SELECT * INTO d FROM folders WHERE id = p_id;
        IF d.parent_id IS NULL OR folder_is_within(p_target, p_id) THEN
            RAISE EXCEPTION 'invalid_move';
        END IF;
        -- the live subtree in one statement: each copied row's id is derived
        -- from the original's and this copy's new_id, so parents and
        -- children find each other without a mapping table
        WITH RECURSIVE sub(id, parent_id, name, description, depth) AS (
            SELECT id, parent_id, tree_free_name(p_target, name, 'folder', NULL, p_policy), description, 0
              FROM folders WHERE id = p_id
          UNION ALL
            SELECT c.id, c.parent_id, c.name, c.description, sub.depth + 1
              FROM sub JOIN folders c ON c.parent_id = sub.id AND NOT c.is_deleted
             WHERE sub.depth < 100000),
        nd AS (
            INSERT INTO folders (id, user_id, parent_id, name, description)
                SELECT CASE WHEN s.id = p_id THEN new_id ELSE tree_copy_id(new_id, s.id) END, p_user,
                       CASE WHEN s.id = p_id THEN p_target ELSE
                            CASE WHEN s.parent_id = p_id THEN new_id ELSE tree_copy_id(new_id, s.parent_id) END
                       END,
                       s.name, s.description
                  FROM sub s),
        nf AS (
            INSERT INTO files (id, user_id, folder_id, name, original_name, sha256, size, mime_type,
                               description, tags)
                SELECT tree_copy_id(new_id, x.id), p_user,
                       CASE WHEN x.folder_id = p_id THEN new_id ELSE tree_copy_id(new_id, x.folder_id) END,
                       x.name, x.original_name, x.sha256, x.size, x.mime_type, x.description, x.tags
                  FROM files x
                 WHERE x.folder_id IN (SELECT id FROM sub) AND NOT x.is_deleted
                RETURNING id, sha256, size, mime_type)
        INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type, is_current,
                                   created_by)
            SELECT id, 1, sha256, size, mime_type, true, p_user FROM nf;
        SELECT * INTO d FROM folders WHERE id = new_id;
        RETURN folder_json(d);
    END IF;
    RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
END $$;

-- Move an item and its live subtree to the trash as one unit.
CREATE FUNCTION tree_trash(p_user uuid, p_id uuid) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    kind text := tree_item_kind(p_user, p_id);
    sub uuid[];
    f files;
    d folders;
BEGIN
    IF kind = 'file' THEN
        UPDATE files SET is_deleted = true, deleted_at = now(), trash_id = id
         WHERE id = p_id RETURNING * INTO f;
        DELETE FROM shares WHERE file_id = p_id;
        RETURN json_build_object('kind', 'file', 'id', f.id, 'name', f.name);
    ELSIF kind = 'folder' THEN
        SELECT * INTO d FROM folders WHERE id = p_id;
        IF d.parent_id IS NULL THEN
            RAISE EXCEPTION 'root_folder';
        END IF;
        WITH RECURSIVE sub(id, depth) AS (
            SELECT p_id, 0
          UNION ALL
            SELECT c.id, sub.depth + 1 FROM sub JOIN folders c ON c.parent_id = sub.id AND NOT c.is_deleted
             WHERE sub.depth < 100000)
        SELECT array_agg(id) INTO sub FROM sub;
        UPDATE files SET is_deleted = true, deleted_at = now(), trash_id = p_id
         WHERE folder_id IN (SELECT unnest(sub)) AND NOT is_deleted;
        UPDATE folders SET is_deleted = true, deleted_at = now(), trash_id = p_id
         WHERE id IN (SELECT unnest(sub));
        DELETE FROM shares WHERE folder_id IN (SELECT unnest(sub))
            OR file_id IN (SELECT id FROM files WHERE trash_id = p_id);
        RETURN json_build_object('kind', 'folder', 'id', d.id, 'name', d.name);
    END IF;
    RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
END $$;

-- Bring a trash unit back: to its old parent when that is live, else the
-- root; a taken name is renamed (p_policy 'rename') or refused.
CREATE FUNCTION tree_restore(p_user uuid, p_id uuid, p_policy text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    kind text;
    f files;
    d folders;
    dest uuid;
BEGIN
    IF EXISTS (SELECT 1 FROM files WHERE id = p_id AND user_id = p_user AND trash_id = p_id) THEN
        kind := 'file';
    ELSIF EXISTS (SELECT 1 FROM folders WHERE id = p_id AND user_id = p_user AND trash_id = p_id) THEN
        kind := 'folder';
    ELSE
        RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
    END IF;
    IF kind = 'file' THEN
        SELECT * INTO f FROM files WHERE id = p_id FOR UPDATE;
        dest := f.folder_id;
    ELSE
        SELECT * INTO d FROM folders WHERE id = p_id FOR UPDATE;
        dest := d.parent_id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM folders WHERE id = dest AND NOT is_deleted) THEN
        SELECT root_folder_id INTO dest FROM users WHERE id = p_user;
    END IF;
    IF kind = 'file' THEN
        UPDATE files SET is_deleted = false, deleted_at = NULL, trash_id = NULL, folder_id = dest,
               name = tree_free_name(dest, f.name, 'file', f.id, p_policy)
         WHERE id = p_id RETURNING * INTO f;
        RETURN file_json(f);
    END IF;
    -- the unit's root first: its new name is checked among live siblings
    -- before anything of the unit is live again
    UPDATE folders SET is_deleted = false, deleted_at = NULL, trash_id = NULL, parent_id = dest,
           name = tree_free_name(dest, d.name, 'folder', d.id, p_policy)
     WHERE id = p_id;
    UPDATE folders SET is_deleted = false, deleted_at = NULL, trash_id = NULL WHERE trash_id = p_id;
    UPDATE files SET is_deleted = false, deleted_at = NULL, trash_id = NULL WHERE trash_id = p_id;
    SELECT * INTO d FROM folders WHERE id = p_id;
    RETURN folder_json(d);
END $$;

-- Delete a trash unit for good. Items of other units inside it (deleted
-- earlier on their own) lose their original place: they move to the root,
-- where a restore would put them anyway.
CREATE FUNCTION tree_purge(p_user uuid, p_id uuid) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    root uuid;
    name text;
    kind text := 'file';
BEGIN
    SELECT x.name INTO name FROM files x WHERE x.id = p_id AND x.user_id = p_user AND x.trash_id = p_id;
    IF NOT FOUND THEN
        SELECT x.name INTO name FROM folders x WHERE x.id = p_id AND x.user_id = p_user AND x.trash_id = p_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'not_found' USING ERRCODE = 'no_data_found';
        END IF;
        kind := 'folder';
    END IF;
    IF kind = 'folder' THEN
        SELECT root_folder_id INTO root FROM users WHERE id = p_user;
        UPDATE files SET folder_id = root
         WHERE folder_id IN (SELECT id FROM folders WHERE trash_id = p_id) AND trash_id <> p_id;
        UPDATE folders SET parent_id = root
         WHERE parent_id IN (SELECT id FROM folders WHERE trash_id = p_id) AND trash_id <> p_id;
    END IF;
    DELETE FROM file_versions WHERE file_id IN (SELECT id FROM files WHERE trash_id = p_id);
    DELETE FROM files WHERE trash_id = p_id;
    DELETE FROM folders WHERE trash_id = p_id;
    RETURN json_build_object('kind', kind, 'id', p_id, 'name', name);
END $$;

-- Run op ('move', 'copy', 'delete', 'restore', 'purge') on each item, each in its own
-- subtransaction: one failure does not undo the others. Returns one row per
-- item: ok and the item, or the problem's status, code and detail.
CREATE FUNCTION tree_apply(p_user uuid, p_op text, p_items uuid[], p_target uuid, p_policy text)
RETURNS TABLE (item_id uuid, ok boolean, body json)
LANGUAGE plpgsql AS $$
DECLARE
    i uuid;
    st text;
    cn text;
    msg text;
BEGIN
    PERFORM tree_lock(p_user);
    IF p_op NOT IN ('move', 'copy', 'delete', 'restore', 'purge') THEN
        RAISE EXCEPTION 'unknown tree operation %', p_op;
    END IF;
    IF p_op IN ('move', 'copy')
       AND NOT EXISTS (SELECT 1 FROM folders WHERE id = p_target AND user_id = p_user AND NOT is_deleted) THEN
        RAISE EXCEPTION 'target_not_found' USING ERRCODE = 'no_data_found';
    END IF;
    FOREACH i IN ARRAY p_items LOOP
        item_id := i;
        BEGIN
            body := CASE p_op
                WHEN 'move' THEN tree_move(p_user, i, p_target, p_policy)
                WHEN 'copy' THEN tree_copy(p_user, i, p_target, p_policy)
                WHEN 'delete' THEN tree_trash(p_user, i)
                WHEN 'restore' THEN tree_restore(p_user, i, p_policy)
                WHEN 'purge' THEN tree_purge(p_user, i)
            END;
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
                    'code', 'quota_exceeded', 'detail', 'This would exceed your storage quota.')
                WHEN st = 'P0001' AND msg = 'invalid_move' THEN json_build_object('status', 409,
                    'code', 'invalid_move',
                    'detail', 'A folder cannot be put into itself or one of its subfolders, and the root folder cannot move.')
                WHEN st = 'P0001' AND msg = 'root_folder' THEN json_build_object('status', 403,
                    'code', 'forbidden', 'detail', 'The root folder cannot be deleted.')
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

-- tree_apply, plus one activity entry per item done (the action is the op),
-- in the same transaction.
CREATE FUNCTION tree_apply_logged(p_user uuid, p_op text, p_items uuid[], p_target uuid,
                                  p_policy text, p_ip text, p_ua text)
RETURNS TABLE (item_id uuid, ok boolean, body json)
LANGUAGE sql AS $$
    WITH r AS MATERIALIZED (
        SELECT t.item_id, t.ok, t.body, t.o
          FROM tree_apply(p_user, p_op, p_items, p_target, p_policy) WITH ORDINALITY AS t(item_id, ok, body, o)),
    a AS (
        INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, ip_address,
                                  user_agent, details)
        SELECT p_user, p_op, (r.body->>'id')::uuid, r.body->>'kind', r.body->>'name',
               CASE WHEN p_ip ~ '^[0-9a-fA-F.:]+$' THEN p_ip::inet END, left(p_ua, 512),
               CASE WHEN p_op IN ('move', 'copy') THEN
                   json_build_object('target_folder_id', p_target, 'source_id', r.item_id)::jsonb END
          FROM r WHERE r.ok)
    SELECT r.item_id, r.ok, r.body FROM r ORDER BY r.o
$$;

-- How big an operation on these items is: the items plus every live item in
-- the subtrees of the folders among them, and the current size of every live
-- file among all of those (what a copy would charge).
CREATE FUNCTION tree_plan(p_user uuid, p_items uuid[], p_trashed boolean DEFAULT false,
                          OUT items bigint, OUT bytes bigint)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE sub(id, depth) AS (
        SELECT f.id, 0 FROM folders f
         WHERE f.id = ANY (p_items) AND f.user_id = p_user AND f.is_deleted = p_trashed
      UNION ALL
        SELECT c.id, sub.depth + 1 FROM sub JOIN folders c ON c.parent_id = sub.id
         WHERE c.is_deleted = p_trashed AND sub.depth < 100000),
    fl AS (
        SELECT x.id, x.size FROM files x
         WHERE x.folder_id IN (SELECT id FROM sub) AND x.is_deleted = p_trashed AND x.user_id = p_user
        UNION
        SELECT x.id, x.size FROM files x
         WHERE x.id = ANY (p_items) AND x.user_id = p_user AND x.is_deleted = p_trashed)
    SELECT (SELECT count(*) FROM sub) + (SELECT count(*) FROM fl),
           (SELECT coalesce(sum(size), 0) FROM fl)::bigint
$$;

-- ---------------------------------------------------------------- jobs

CREATE TABLE jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- the tree_apply op, or 'empty_trash' (purge of every unit)
    kind         text NOT NULL CHECK (kind IN ('move', 'copy', 'delete', 'restore', 'purge',
                                               'empty_trash')),
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
    items        uuid[] NOT NULL,
    target_id    uuid,
    policy       text NOT NULL DEFAULT 'fail',
    total        integer NOT NULL CHECK (total >= 0),
    done         integer NOT NULL DEFAULT 0 CHECK (done >= 0 AND done <= total),
    failed       integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    error        json,
    ip           text,             -- of the request, for the activity log
    user_agent   text,
    runner_pid   integer,          -- backend pid of the runner's session while running
    attempts     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX jobs_user ON jobs (user_id, created_at DESC, id DESC);
CREATE INDEX jobs_pending ON jobs (created_at) WHERE state IN ('queued', 'running');

-- Per-item results, written in the same transaction as the item's change.
CREATE TABLE job_items (
    job_id   uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq      integer NOT NULL,
    item_id  uuid NOT NULL,
    ok       boolean NOT NULL,
    body     json,
    PRIMARY KEY (job_id, seq)
);

CREATE FUNCTION job_json(j jobs, p_full boolean DEFAULT true) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', j.id,
        'kind', j.kind,
        'state', j.state,
        'total', j.total,
        'done', j.done,
        'failed', j.failed,
        'target_folder_id', j.target_id,
        'result', CASE WHEN p_full THEN json_build_object(
            'items', coalesce((SELECT json_agg(i.body ORDER BY i.seq) FROM job_items i
                                WHERE i.job_id = j.id AND i.ok), '[]'::json),
            'errors', coalesce((SELECT json_agg(json_build_object('id', i.item_id, 'error',
                                    (i.body::jsonb || jsonb_build_object('type',
                                        'https://coffer.dev/problems/' || (i.body->>'code'),
                                        'title', CASE i.body->>'status' WHEN '403' THEN 'Forbidden'
                                            WHEN '404' THEN 'Not Found' WHEN '409' THEN 'Conflict'
                                            WHEN '507' THEN 'Insufficient Storage'
                                            ELSE 'Internal Server Error' END))::json) ORDER BY i.seq)
                                 FROM job_items i WHERE i.job_id = j.id AND NOT i.ok), '[]'::json)) END,
        'error', j.error,
        'created_at', api_time(j.created_at),
        'started_at', api_time(j.started_at),
        'finished_at', api_time(j.finished_at))
$$;

-- Apply the next p_batch items of a job the caller runs, record their
-- results and the progress, all in the caller's transaction. Returns the
-- number of items applied (0 when the job is finished, or not this
-- runner's).
CREATE FUNCTION job_step(p_job uuid, p_batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
    slice uuid[];
    n integer;
BEGIN
    SELECT * INTO j FROM jobs WHERE id = p_job FOR UPDATE;
    IF NOT FOUND OR j.state <> 'running' OR j.runner_pid <> pg_backend_pid() THEN
        RETURN 0;
    END IF;
    IF j.done >= j.total THEN
        UPDATE jobs SET state = 'succeeded', finished_at = now(), runner_pid = NULL WHERE id = p_job;
        RETURN 0;
    END IF;
    slice := j.items[j.done + 1 : j.done + p_batch];
    n := cardinality(slice);
    BEGIN
        INSERT INTO job_items (job_id, seq, item_id, ok, body)
            SELECT p_job, j.done + r.o, r.item_id, r.ok, r.body
              FROM tree_apply_logged(j.user_id, CASE j.kind WHEN 'empty_trash' THEN 'purge' ELSE j.kind END,
                                     slice, j.target_id, j.policy, j.ip, j.user_agent)
                   WITH ORDINALITY AS r(item_id, ok, body, o);
    EXCEPTION WHEN no_data_found THEN
        -- the target folder is gone: every remaining item fails
        INSERT INTO job_items (job_id, seq, item_id, ok, body)
            SELECT p_job, j.done + o, i, false,
                   json_build_object('status', 404, 'code', 'not_found',
                                     'detail', 'The target folder no longer exists.')
              FROM unnest(j.items[j.done + 1 : j.total]) WITH ORDINALITY AS t(i, o);
        n := j.total - j.done;
    END;
    UPDATE jobs SET done = done + n,
           failed = failed + (SELECT count(*) FROM job_items
                               WHERE job_id = p_job AND seq > j.done AND NOT ok)
     WHERE id = p_job;
    RETURN n;
END $$;

-- Take the oldest job nobody runs: queued, or running for a runner whose
-- session is gone (killed mid-job: its last batch rolled back, the job goes
-- on from the last committed one).
CREATE FUNCTION job_claim() RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    jid uuid;
BEGIN
    SELECT j.id INTO jid FROM jobs j
     WHERE j.state = 'queued'
        OR (j.state = 'running' AND (j.runner_pid = pg_backend_pid()
                                     OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                                     WHERE a.pid = j.runner_pid)))
     ORDER BY j.created_at
     FOR UPDATE SKIP LOCKED
     LIMIT 1;
    IF jid IS NOT NULL THEN
        UPDATE jobs SET state = 'running', runner_pid = pg_backend_pid(), attempts = attempts + 1,
               started_at = coalesce(started_at, now())
         WHERE id = jid;
        -- a job that keeps failing (its runner dies or errs on it every
        -- time) is given up rather than retried for ever; a runner that
        -- stops cleanly gives its job back without counting (job_release)
        UPDATE jobs SET state = 'failed', finished_at = now(), runner_pid = NULL,
               error = json_build_object('type', 'https://coffer.dev/problems/job_failed',
                   'title', 'Internal Server Error', 'status', 500, 'code', 'job_failed',
                   'detail', 'The job failed repeatedly; the items done so far are listed.')
         WHERE id = jid AND attempts > 10;
    END IF;
    RETURN jid;
END $$;

-- ---------------------------------------------------------------- maintenance

-- Purge up to p_limit trash units deleted more than p_days days ago (oldest
-- first), each under its owner's tree lock, and log each purge. Returns how
-- many were purged.
CREATE FUNCTION trash_purge_expired(p_days integer, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    u record;
    n integer := 0;
    purged json;
BEGIN
    FOR u IN
        SELECT t.user_id, t.id FROM (
            SELECT user_id, id, deleted_at FROM files WHERE trash_id = id
             AND deleted_at < now() - p_days * interval '1 day'
            UNION ALL
            SELECT user_id, id, deleted_at FROM folders WHERE trash_id = id
             AND deleted_at < now() - p_days * interval '1 day') t
         ORDER BY t.deleted_at LIMIT p_limit
    LOOP
        PERFORM tree_lock(u.user_id);
        BEGIN
            purged := tree_purge(u.user_id, u.id);
        EXCEPTION WHEN no_data_found THEN
            CONTINUE;   -- purged or restored meanwhile
        END;
        INSERT INTO activity_log (user_id, action, target_id, target_kind, target_name, details)
            VALUES (u.user_id, 'purge', u.id, purged->>'kind', purged->>'name',
                    jsonb_build_object('automatic', true, 'retention_days', p_days));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- A runner that stops between two batches gives its job back: queued
-- again, and the attempt not counted.
CREATE FUNCTION job_release(p_job uuid) RETURNS void
LANGUAGE sql AS $$
    UPDATE jobs SET state = 'queued', runner_pid = NULL, attempts = greatest(attempts - 1, 0)
     WHERE id = p_job AND state = 'running' AND runner_pid = pg_backend_pid()
$$;

-- Finished jobs (and their per-item results) older than p_days days.
CREATE FUNCTION jobs_prune(p_days integer) RETURNS integer
LANGUAGE sql AS $$
    WITH d AS (DELETE FROM jobs WHERE state IN ('succeeded', 'failed')
                AND finished_at < now() - p_days * interval '1 day' RETURNING 1)
    SELECT count(*)::integer FROM d
$$;
