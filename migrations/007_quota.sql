-- 007_quota: the quota report (GET /api/quota).
--
-- What counts against the quota is every version of every live file
-- (users.storage_used, kept by the triggers of 004): the current versions
-- plus the older ones. Files in the trash do not count until restored; the
-- report shows them apart. Blobs are shared (deduplicated) and some are
-- stored compressed, so what the user's files take on the volume is less:
-- the report says how much less, and why.

CREATE INDEX files_user_live ON files (user_id) WHERE NOT is_deleted;

-- "1.2 GB": bytes for people (powers of 1024, as the unit letters suggest
-- to most readers of a storage product).
CREATE FUNCTION human_bytes(b numeric) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN b < 1024 THEN b || ' bytes'
        WHEN b < 1024 * 1024 THEN round(b / 1024.0, 1) || ' KB'
        WHEN b < 1024 * 1024 * 1024 THEN round(b / 1048576.0, 1) || ' MB'
        WHEN b < 1099511627776 THEN round(b / 1073741824.0, 1) || ' GB'
        ELSE round(b / 1099511627776.0, 1) || ' TB'
    END
$$;

CREATE FUNCTION quota_report(p_user uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    WITH u AS (SELECT storage_quota AS quota, storage_used AS used FROM users WHERE id = p_user),
    live AS MATERIALIZED (
        SELECT f.id, f.name, f.folder_id, f.size, f.mime_type, f.sha256
          FROM files f WHERE f.user_id = p_user AND NOT f.is_deleted),
    vers AS MATERIALIZED (
        SELECT v.sha256, v.size, v.is_current
          FROM file_versions v WHERE v.file_id IN (SELECT id FROM live)),
    blob_use AS (
        SELECT b.size, b.stored_size, b.compression
          FROM blobs b WHERE b.sha256 IN (SELECT sha256 FROM vers)),
    trash AS (
        SELECT count(DISTINCT f.id) AS files, coalesce(sum(v.size), 0) AS bytes
          FROM files f JOIN file_versions v ON v.file_id = f.id
         WHERE f.user_id = p_user AND f.is_deleted),
    old AS (
        SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM vers WHERE NOT is_current),
    cur AS (
        SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM vers WHERE is_current),
    phys AS (
        SELECT coalesce(sum(size), 0) AS unique_bytes, coalesce(sum(stored_size), 0) AS stored,
               coalesce(sum(size - stored_size) FILTER (WHERE compression <> 'none'), 0) AS compressed_saved
          FROM blob_use),
    -- live files with the same content as another live file: every copy
    -- after the first of each group
    dup AS (
        SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM (
            SELECT size, row_number() OVER (PARTITION BY sha256 ORDER BY id) AS k FROM live) d
         WHERE d.k > 1),
    by_cat AS (
        SELECT coalesce(json_agg(json_build_object('category', c, 'bytes', b, 'count', n)
                                 ORDER BY b DESC, c), '[]')
          FROM (SELECT mime_category(mime_type) AS c, sum(size) AS b, count(*) AS n
                  FROM live GROUP BY 1) x),
    by_mime AS (
        SELECT coalesce(json_agg(json_build_object('mime_type', m, 'bytes', b, 'count', n)
                                 ORDER BY b DESC, m), '[]')
          FROM (SELECT mime_type AS m, sum(size) AS b, count(*) AS n
                  FROM live GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 50) x),
    big_files AS (
        SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'size', size,
                                                   'mime_type', mime_type, 'folder_id', folder_id,
                                                   'path', rtrim(folder_path(folder_id), '/') || '/' || name)
                                 ORDER BY size DESC, id), '[]')
          FROM (SELECT * FROM live ORDER BY size DESC, id LIMIT 10) x),
    big_folders AS (
        SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'path', folder_path(id),
                                                   'total_size', total_size, 'file_count', file_count)
                                 ORDER BY total_size DESC, id), '[]')
          FROM (SELECT * FROM folders
                 WHERE user_id = p_user AND NOT is_deleted AND parent_id IS NOT NULL
                 ORDER BY total_size DESC, id LIMIT 10) x),
    recs AS (
        SELECT coalesce(json_agg(r ORDER BY o), '[]') FROM (
            SELECT 1 AS o, json_build_object('kind', 'old_versions', 'count', old.n, 'bytes', old.bytes,
                       'message', old.n || CASE WHEN old.n = 1 THEN ' old version takes '
                                                ELSE ' old versions take ' END
                                  || human_bytes(old.bytes)
                                  || ' of your quota: delete the older versions you do not need '
                                  || '(DELETE /api/files/<id>/versions/<n>).') AS r
              FROM old WHERE old.n > 0
            UNION ALL
            SELECT 2, json_build_object('kind', 'trash', 'count', trash.files, 'bytes', trash.bytes,
                       'message', 'The trash holds ' || human_bytes(trash.bytes) || ' in ' || trash.files
                                  || CASE WHEN trash.files = 1 THEN ' file' ELSE ' files' END
                                  || ': it does not count against your quota, but restoring it would; '
                                  || 'empty the trash to free the space for good.')
              FROM trash WHERE trash.files > 0
            UNION ALL
            SELECT 3, json_build_object('kind', 'duplicates', 'count', dup.n, 'bytes', dup.bytes,
                       'message', dup.n || CASE WHEN dup.n = 1 THEN ' file is an exact duplicate'
                                                ELSE ' files are exact duplicates' END
                                  || ' of others and ' || CASE WHEN dup.n = 1 THEN 'counts ' ELSE 'count ' END
                                  || human_bytes(dup.bytes)
                                  || ' against your quota: delete the copies you do not need.')
              FROM dup WHERE dup.n > 0
        ) x)
    SELECT json_build_object(
        'quota', u.quota,
        'used', u.used,
        'available', greatest(u.quota - u.used, 0),
        'percent_used', CASE WHEN u.quota = 0 THEN 0
                             ELSE floor(10000.0 * u.used / u.quota) / 100 END,
        'files', json_build_object('count', cur.n, 'bytes', cur.bytes),
        'versions', json_build_object('count', old.n, 'bytes', old.bytes),
        'trash', json_build_object('count', trash.files, 'bytes', trash.bytes),
        'by_category', (SELECT * FROM by_cat),
        'by_mime_type', (SELECT * FROM by_mime),
        'largest_files', (SELECT * FROM big_files),
        'largest_folders', (SELECT * FROM big_folders),
        'storage', json_build_object(
            'logical_bytes', u.used,
            'unique_bytes', phys.unique_bytes,
            'stored_bytes', phys.stored,
            'deduplication_saved_bytes', u.used - phys.unique_bytes,
            'compression_saved_bytes', phys.compressed_saved),
        'recommendations', (SELECT * FROM recs))
      FROM u, cur, old, trash, phys
$$;
