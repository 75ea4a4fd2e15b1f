-- 014_search_speed: search that stays fast with a million files.
--
-- * Names are indexed by their words only. 011 also indexed the whole name
--   as one token ("report_2024-final.pdf"), which gave the full-text index a
--   distinct entry for nearly every file: a prefix query ("repo":*) then
--   walked one entry per file. The words ("report", "2024", "final", "pdf")
--   find the same files; a whole name is still found as a substring and as
--   an exact name. The stored tsvector columns are built again, so this
--   migration rewrites files and folders once.
-- * Substrings of names go through the trigram index (LIKE with the search
--   text escaped) instead of strpos, which read every row.
-- * Typo matching is asked for only for words nothing matches exactly (the
--   worker decides per word), so search_matched takes those words apart.
-- * files.has_text says whether the file's content has text in blob_text,
--   kept by triggers (a file getting content, text arriving later for a
--   PDF or an old blob); an index of each user's text files newest first
--   lets a search for a common word read only those.

CREATE OR REPLACE FUNCTION search_name(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT regexp_replace(p, '[^[:alnum:]]+', ' ', 'g')
$$;

ALTER TABLE files DROP COLUMN search;
ALTER TABLE folders DROP COLUMN search;
ALTER TABLE files ADD COLUMN search tsvector
    GENERATED ALWAYS AS (search_doc(name, tags, description)) STORED;
ALTER TABLE folders ADD COLUMN search tsvector
    GENERATED ALWAYS AS (search_doc(name, NULL, description)) STORED;
CREATE INDEX files_search ON files USING gin (search) WHERE NOT is_deleted;
CREATE INDEX folders_search ON folders USING gin (search) WHERE NOT is_deleted;

-- The LIKE pattern matching names that contain p (any case): "50%_off" ->
-- "%50\%\_off%". Immutable, so a pattern from a parameter is a constant
-- when the statement is planned and the trigram index serves it.
CREATE FUNCTION search_like(p text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT '%' || replace(replace(replace(lower(p), '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;

-- Which fields of an item the words (p_q: search_any_query of them) match;
-- p_fuzzy: the words matched by trigram similarity too (typos).
CREATE FUNCTION search_matched(p_name text, p_tags text[], p_description text, p_content tsvector,
                               p_q tsquery, p_words text[], p_fuzzy text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT array_remove(ARRAY[
        CASE WHEN coalesce(to_tsvector('simple'::regconfig, search_name(p_name)) @@ p_q, false)
                  OR EXISTS (SELECT 1 FROM unnest(p_words) w WHERE strpos(lower(p_name), lower(w)) > 0)
                  OR EXISTS (SELECT 1 FROM unnest(p_fuzzy) w WHERE lower(w) <% lower(p_name))
             THEN 'name' END,
        CASE WHEN coalesce(to_tsvector('simple'::regconfig, coalesce(array_to_string(p_tags, ' '), '')) @@ p_q,
                           false) THEN 'tags' END,
        CASE WHEN coalesce(to_tsvector('simple'::regconfig, coalesce(p_description, '')) @@ p_q, false)
             THEN 'description' END,
        CASE WHEN coalesce(p_content @@ p_q, false) THEN 'content' END], NULL)
$$;

ALTER TABLE files ADD COLUMN has_text boolean NOT NULL DEFAULT false;

CREATE FUNCTION files_has_text() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.has_text := EXISTS (SELECT 1 FROM blob_text t WHERE t.sha256 = NEW.sha256);
    RETURN NEW;
END $$;
CREATE TRIGGER files_has_text BEFORE INSERT OR UPDATE OF sha256 ON files
    FOR EACH ROW EXECUTE FUNCTION files_has_text();

CREATE FUNCTION blob_text_arrived() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE files SET has_text = true WHERE sha256 = NEW.sha256 AND NOT has_text;
    RETURN NULL;
END $$;
CREATE TRIGGER blob_text_arrived AFTER INSERT ON blob_text
    FOR EACH ROW EXECUTE FUNCTION blob_text_arrived();

UPDATE files x SET has_text = true WHERE EXISTS (SELECT 1 FROM blob_text t WHERE t.sha256 = x.sha256);
CREATE INDEX files_user_text ON files (user_id, updated_at DESC, id) WHERE has_text AND NOT is_deleted;

-- Exact names (ranked first wherever they are): the trigram index answers
-- equality too, but only by rechecking every name with the same trigrams,
-- so search asks for lower(name) COLLATE "C", which only these serve.
CREATE INDEX files_lower_name ON files ((lower(name) COLLATE "C")) WHERE NOT is_deleted;
CREATE INDEX folders_lower_name ON folders ((lower(name) COLLATE "C")) WHERE NOT is_deleted;

-- The planner's statistics of the new columns: search chooses between its
-- lookups by them.
ANALYZE files;
ANALYZE folders;
