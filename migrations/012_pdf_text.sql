-- 012_pdf_text: the text of PDF files, extracted in the background.
--
-- pdftotext (poppler-utils) is a program of its own and a PDF can take it
-- seconds, so it never runs on the request path: an upload of new PDF
-- content marks the blob text_pending (and wakes the jobs process); the jobs
-- process runs pdftotext on it, where installed, and stores the text in
-- blob_text like the text of text files. Without pdftotext the marks wait.

ALTER TABLE blobs ADD COLUMN text_pending boolean NOT NULL DEFAULT false;
CREATE INDEX blobs_text_pending ON blobs (created_at) WHERE text_pending;
