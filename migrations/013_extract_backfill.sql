-- 013_extract_backfill: metadata and text for content stored before the
-- upload extracted them.
--
-- Uploads learn of new content what migration 011 keeps (an image's size
-- in blobs.metadata, a text-like file's text in blob_text; PDFs marked
-- text_pending by 012) and, from this release, libmagic's description.
-- Content already stored has none of it, or no description. Every blob
-- there when this migration runs is marked extract_pending: the column is
-- added with the default true, which PostgreSQL keeps as the value of the
-- existing rows without rewriting the table (so this is instant however
-- many blobs there are), and the default then becomes false for new rows,
-- whose upload extracts them itself. The jobs process works the marks off
-- (store_extract_pass, lib/store.c): it reads the start of each marked
-- blob, stores what an upload would have (metadata, text, or the
-- text_pending mark of a PDF) and clears the mark, oldest first, a batch
-- per round. The mark is separate from text_pending, which means "run
-- pdftotext on this blob" and is only for PDFs.

ALTER TABLE blobs ADD COLUMN extract_pending boolean NOT NULL DEFAULT true;
ALTER TABLE blobs ALTER COLUMN extract_pending SET DEFAULT false;
CREATE INDEX blobs_extract_pending ON blobs (created_at) WHERE extract_pending;
