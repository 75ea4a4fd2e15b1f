-- 015_search_words: typos found through the words of names, and content
-- text that a phrase can be checked in without a second read.
--
-- * search_words holds, per user, every word that has been in the name of
--   one of their files or folders (as the full-text index splits names;
--   words of digits only are left out: no one misspells a number into
--   another). A word that matches nothing (a typo: "reprot") is looked up
--   here by trigram word similarity, a few thousand short words instead of
--   every name, and the words close to it ("report") are then searched
--   like any other word, through the full-text index. Words are added by
--   triggers when a name is given or changed and are not removed when it
--   goes: a word no name has any more is a close word that finds nothing.
-- * blob_text.search (the content's tsvector) is kept in the row where it
--   fits (STORAGE MAIN) instead of in the TOAST table: a phrase is checked
--   against the positions of its words, which is a read of the tsvector of
--   every text holding them, and that read no longer goes through a second
--   index and table. The existing rows are rewritten once.

CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE search_words (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    word text NOT NULL,
    PRIMARY KEY (user_id, word)
);
CREATE INDEX search_words_trgm ON search_words USING gin (user_id, word gin_trgm_ops);

-- The words of a name as search_words keeps them.
CREATE FUNCTION search_name_words(p_name text) RETURNS SETOF text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT w FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, search_name(p_name)))) w
     WHERE w ~ '[^0-9]'
$$;

-- Inserts of files or folders: one statement's new rows at once, in word
-- order (two transactions adding the same words wait for each other in
-- the same order).
CREATE FUNCTION search_words_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (user_id, word)
    SELECT DISTINCT n.user_id, w FROM new_rows n CROSS JOIN LATERAL search_name_words(n.name) w
     ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- A renamed item, or one that changed owner.
CREATE FUNCTION search_words_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_words (user_id, word)
    SELECT DISTINCT NEW.user_id, w FROM search_name_words(NEW.name) w ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER files_search_words AFTER INSERT ON files
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_inserted();
CREATE TRIGGER folders_search_words AFTER INSERT ON folders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_words_inserted();
CREATE TRIGGER files_search_words_renamed AFTER UPDATE OF name, user_id ON files
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION search_words_renamed();
CREATE TRIGGER folders_search_words_renamed AFTER UPDATE OF name, user_id ON folders
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION search_words_renamed();

-- Every item's words, trashed ones too (they may be restored).
INSERT INTO search_words (user_id, word)
SELECT user_id, w FROM files CROSS JOIN LATERAL search_name_words(name) w
UNION
SELECT user_id, w FROM folders CROSS JOIN LATERAL search_name_words(name) w
ON CONFLICT DO NOTHING;

-- The words close to p_word (trigram word similarity at least
-- pg_trgm.word_similarity_threshold, which search sets) of the names of
-- p_user and of the owners who granted p_user something, the closest 64,
-- as a tsquery of any of them in a name (weight A of search_doc); NULL
-- when there are none. The words only choose what to search for: search
-- then finds only what p_user may see.
CREATE FUNCTION search_close_query(p_user uuid, p_word text) RETURNS tsquery
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT nullif(string_agg(quote_literal(c.word) || ':A', ' | '), '')::tsquery
      FROM (SELECT DISTINCT s.word, word_similarity(lower(p_word), s.word) AS sim
              FROM (SELECT p_user AS id
                    UNION
                    SELECT g.owner_id FROM grants g JOIN users o ON o.id = g.owner_id AND o.is_active
                     WHERE g.grantee_id = p_user) u
              JOIN search_words s ON s.user_id = u.id AND lower(p_word) <% s.word
             ORDER BY sim DESC, s.word LIMIT 64) c
$$;

ALTER TABLE blob_text ALTER COLUMN search SET STORAGE MAIN;
-- search is generated from content: setting content computes it again,
-- and the new value is stored by the new rule
UPDATE blob_text SET content = content;

ANALYZE search_words;
ANALYZE blob_text;
