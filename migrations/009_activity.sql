-- Activity log retention: coffer-admin maintenance deletes entries older
-- than activity_retention_days across all users, in batches; this index
-- lets it find them without reading the whole table.
CREATE INDEX activity_created ON activity_log (created_at);
