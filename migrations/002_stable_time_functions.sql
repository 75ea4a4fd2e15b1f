-- 002: api_time() and cursor_time() wrap to_char(), which is only STABLE.
-- Declared IMMUTABLE they were never inlined and PostgreSQL re-planned their
-- bodies on every call (a third of the database time of GET /api/auth/user).
-- STABLE lets the planner inline them; neither is used in an index.
ALTER FUNCTION api_time(timestamptz) STABLE;
ALTER FUNCTION cursor_time(timestamptz) STABLE;
