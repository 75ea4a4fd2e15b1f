-- 003_files: the database side of files and versions.
--
-- * blobs.ref_count is the number of file_versions rows that point at the
--   blob, and users.storage_used the sum of the sizes of every retained
--   version of every file not in the trash. Triggers keep both exact, so every
--   code path (upload, new version, restore, retention trim, trash, purge)
--   accounts the same way, and the CHECK on users makes the database refuse
--   anything that would exceed a quota, whatever the interleaving: the UPDATE
--   of the user's row serialises concurrent changes for one user.
-- * Compressed blobs are gzip files (RFC 1952), so nginx can send them as
--   they are to clients that accept gzip.
-- * file_store() and file_restore_version() do a whole upload or rollback in
--   one round trip.

ALTER TABLE blobs DROP CONSTRAINT blobs_compression_check;
ALTER TABLE blobs ADD CONSTRAINT blobs_compression_check CHECK (compression IN ('none', 'gzip'));
-- type of the content when first stored, for the compression job
ALTER TABLE blobs ADD COLUMN mime_type text NOT NULL DEFAULT 'application/octet-stream';
-- the compression job has looked at this blob (compressed it or decided not to)
ALTER TABLE blobs ADD COLUMN compress_checked boolean NOT NULL DEFAULT false;
-- when the gzip copy replaced the raw file (the raw file is removed a little later)
ALTER TABLE blobs ADD COLUMN compressed_at timestamptz;
ALTER TABLE blobs ADD COLUMN raw_removed boolean NOT NULL DEFAULT false;
CREATE INDEX blobs_compress_pending ON blobs (created_at) WHERE NOT compress_checked;
CREATE INDEX blobs_raw_pending ON blobs (compressed_at) WHERE compression = 'gzip' AND NOT raw_removed;

CREATE INDEX files_folder_name ON files (folder_id, name);
CREATE INDEX file_versions_file ON file_versions (file_id, version_number DESC);

-- Versions are immutable apart from which one is current.
CREATE FUNCTION file_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.file_id <> OLD.file_id OR NEW.sha256 <> OLD.sha256 OR NEW.size <> OLD.size THEN
        RAISE EXCEPTION 'file versions are immutable' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER file_versions_immutable BEFORE UPDATE ON file_versions
    FOR EACH ROW EXECUTE FUNCTION file_versions_immutable();

CREATE FUNCTION file_versions_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE blobs SET ref_count = ref_count + 1 WHERE sha256 = NEW.sha256;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no blob for version' USING ERRCODE = 'foreign_key_violation';
        END IF;
        UPDATE users u SET storage_used = u.storage_used + NEW.size
          FROM files f WHERE f.id = NEW.file_id AND NOT f.is_deleted AND u.id = f.user_id;
        RETURN NEW;
    END IF;
    UPDATE blobs SET ref_count = ref_count - 1 WHERE sha256 = OLD.sha256;
    -- a version removed from a live file gives its bytes back; when the file
    -- row itself is being deleted, files_release already did
    UPDATE users u SET storage_used = u.storage_used - OLD.size
      FROM files f WHERE f.id = OLD.file_id AND NOT f.is_deleted AND u.id = f.user_id;
    RETURN OLD;
END $$;
CREATE TRIGGER file_versions_account AFTER INSERT OR DELETE ON file_versions
    FOR EACH ROW EXECUTE FUNCTION file_versions_account();

-- Moving a file to or from the trash releases or charges all its versions.
CREATE FUNCTION files_trash_account() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    IF NEW.is_deleted IS DISTINCT FROM OLD.is_deleted THEN
        SELECT coalesce(sum(size), 0) INTO total FROM file_versions WHERE file_id = NEW.id;
        UPDATE users SET storage_used = storage_used
            + CASE WHEN NEW.is_deleted THEN -total ELSE total END
          WHERE id = NEW.user_id;
    END IF;
    IF NEW.user_id <> OLD.user_id THEN
        RAISE EXCEPTION 'files do not change owner' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER files_trash_account AFTER UPDATE OF is_deleted, user_id ON files
    FOR EACH ROW EXECUTE FUNCTION files_trash_account();

-- Deleting a live file outright (not from the trash) releases its usage
-- before the cascade removes the versions.
CREATE FUNCTION files_release() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT OLD.is_deleted THEN
        UPDATE users SET storage_used = storage_used
            - (SELECT coalesce(sum(size), 0) FROM file_versions WHERE file_id = OLD.id)
          WHERE id = OLD.user_id;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER files_release BEFORE DELETE ON files
    FOR EACH ROW EXECUTE FUNCTION files_release();

-- The file object of the API, as JSON text.
CREATE FUNCTION file_json(f files) RETURNS json
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
            (SELECT count(*) FROM shares s WHERE s.file_id = f.id AND s.is_active)))
$$;

-- "name (n).ext", cut to 255 bytes without splitting a character.
CREATE FUNCTION file_numbered_name(name text, n integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    dot integer := length(name) - position('.' in reverse(name)) + 1;
    stem text;
    ext text;
    suffix text := ' (' || n || ')';
BEGIN
    IF position('.' in name) = 0 OR dot <= 1 THEN
        stem := name; ext := '';
    ELSE
        stem := left(name, dot - 1); ext := substr(name, dot);
    END IF;
    IF octet_length(ext) > 64 THEN
        stem := name; ext := '';
    END IF;
    WHILE octet_length(stem || suffix || ext) > 255 AND length(stem) > 1 LOOP
        stem := left(stem, length(stem) - 1);
    END LOOP;
    RETURN stem || suffix || ext;
END $$;

-- Advisory lock key for a blob: its hash's first 8 bytes.
CREATE FUNCTION blob_lock_key(sha bytea) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ('x' || encode(substring(sha FROM 1 FOR 8), 'hex'))::bit(64)::bigint
$$;

-- Store one uploaded file. Locks (or creates) the blob row, so garbage
-- collection cannot remove the blob before the caller has put its file in
-- place and committed. policy: 'version' (same name -> new version),
-- 'rename' ("name (1).ext"...), 'fail' (unique_violation on
-- files_sibling_name). keep: versions retained per file.
-- Returns the file as JSON, the blob's compression, whether the blob is new,
-- the file's id, version and name (which 'rename' may have changed).
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
            IF p_policy = 'fail' OR attempt >= 1000 THEN
                RAISE;
            END IF;
            IF p_policy = 'rename' THEN
                candidate := file_numbered_name(p_name, attempt);
            END IF;
            CONTINUE;   -- 'version': a concurrent upload created it; take that one
        END;
        INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type,
                                   is_current, created_by)
            VALUES (f.id, 1, p_sha, p_size, p_mime, true, p_user);
        file := file_json(f); file_id := f.id; version := 1; stored_name := f.name;
        RETURN;
    END LOOP;
END $$;

-- Make version p_version's content the new current version of a live file.
CREATE FUNCTION file_restore_version(p_user uuid, p_file uuid, p_version integer,
                                     p_keep integer, OUT file json)
LANGUAGE plpgsql AS $$
DECLARE
    f files;
    v file_versions;
BEGIN
    SELECT * INTO f FROM files x
     WHERE x.id = p_file AND x.user_id = p_user AND NOT x.is_deleted FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO v FROM file_versions y WHERE y.file_id = f.id AND y.version_number = p_version;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- trim first, so a restore at the quota edge is not refused for bytes the
    -- trim gives back (v is already read; its blob is referenced again by the
    -- new row before commit, and gc only acts on committed reference counts)
    DELETE FROM file_versions y
     WHERE y.file_id = f.id AND y.version_number <= f.version + 1 - p_keep;
    UPDATE file_versions y SET is_current = false WHERE y.file_id = f.id AND y.is_current;
    INSERT INTO file_versions (file_id, version_number, sha256, size, mime_type, is_current,
                               created_by)
        VALUES (f.id, f.version + 1, v.sha256, v.size, v.mime_type, true, p_user);
    UPDATE files x SET sha256 = v.sha256, size = v.size, mime_type = v.mime_type,
           version = f.version + 1, updated_at = now()
     WHERE x.id = f.id RETURNING * INTO f;
    file := file_json(f);
END $$;
