-- 016_search_pairs: phrases in text content looked up by their pairs of
-- adjacent words, and snippets cut from around the first match.
--
-- * A phrase ("quarterly report") was looked up through the full-text
--   index as its words anywhere, then checked against the positions of
--   the words in every text holding them all: for two common words, tens
--   of thousands of texts to read for a few hundred that hold the phrase.
--   search_pairs() gives the pairs of words that stand next to each other
--   in a tsvector (positions p and p + 1), each as a number (hashtext of
--   "w1 w2" within 2^20 buckets). blob_text.pairs keeps them, with a GIN
--   index, which finds the texts holding every pair of a phrase. A phrase
--   that matches holds each of its pairs at exactly those positions, so
--   the index misses nothing; two pairs that share a bucket only add
--   candidates, which the phrase itself is then checked on. The pairs come
--   from the same positions the phrase operator (<->) checks, including
--   the ones a long text's tsvector clamps or leaves out, so the two agree
--   on every text. They are stored, not an index expression: a bitmap
--   scan that rechecks rows would otherwise compute them again per row.
--   One trigger now computes the tsvector (until now a generated column)
--   and the pairs from it, so a text is parsed once.
--   Names get no pairs: a phrase also matches a name containing it as
--   written, and the trigram index reads, for that, every name holding
--   all of its words anyway.
-- * search_snippet() ran ts_headline over the first 200,000 characters of
--   a text, which costs in proportion to the text (about 0.35 ms for 2 KB,
--   35 ms for 200 KB). It now tries 400 characters around the first place
--   a query word occurs, and falls back to the whole when that holds no
--   match.

CREATE FUNCTION search_pairs(v tsvector) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT hashtext(a.lexeme || ' ' || b.lexeme) & 1048575), '{}')
      FROM (SELECT u.lexeme, unnest(u.positions) AS p FROM unnest(v) u) a
      JOIN (SELECT u.lexeme, unnest(u.positions) AS p FROM unnest(v) u) b ON b.p = a.p + 1
$$;

-- The pairs of a phrase as the query gives it (empty for one word: the
-- caller then looks the phrase up by its word).
CREATE FUNCTION search_phrase_pairs(p text) RETURNS integer[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT search_pairs(to_tsvector('simple'::regconfig, p))
$$;

ALTER TABLE blob_text ALTER COLUMN search DROP EXPRESSION;
ALTER TABLE blob_text ADD COLUMN pairs integer[];

CREATE FUNCTION blob_text_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search := to_tsvector('simple'::regconfig, NEW.content);
    NEW.pairs := search_pairs(NEW.search);
    RETURN NEW;
END
$$;
CREATE TRIGGER blob_text_search BEFORE INSERT OR UPDATE OF content ON blob_text
    FOR EACH ROW EXECUTE FUNCTION blob_text_search();

UPDATE blob_text SET pairs = search_pairs(search);
ALTER TABLE blob_text ALTER COLUMN search SET NOT NULL, ALTER COLUMN pairs SET NOT NULL;
CREATE INDEX blob_text_pairs ON blob_text USING gin (pairs);

-- ts_headline over a window of the text: from 150 characters before the
-- first occurrence of a query word or phrase (p_words), 400 characters,
-- less the words cut at either end.
CREATE FUNCTION search_snippet(p_content text, p_q tsquery, p_words text[]) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    c text := left(p_content, 200000);
    lc text;
    first integer;
    start integer;
    s text;
BEGIN
    IF length(c) > 600 THEN
        lc := lower(c);
        SELECT min(nullif(strpos(lc, lower(w)), 0)) INTO first FROM unnest(p_words) w WHERE w <> '';
        IF first IS NOT NULL THEN
            start := greatest(first - 150, 1);
            s := substr(c, start, 400);
            IF start > 1 THEN
                s := substr(s, strpos(s, ' ') + 1);
            END IF;
            IF start + 400 <= length(c) THEN
                s := left(s, length(s) - strpos(reverse(s), ' '));
            END IF;
            s := search_snippet(s, p_q);
            IF strpos(s, '<mark>') > 0 THEN
                RETURN s;
            END IF;
        END IF;
    END IF;
    RETURN search_snippet(c, p_q);
END
$$;

ANALYZE blob_text;
