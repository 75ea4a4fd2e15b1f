-- 001_initial: the brief's tables (users, folders, files, file_versions,
-- shares, activity_log) plus blobs, sessions, API tokens and login throttles.
-- Names and paths are metadata; blobs on disk are named by their SHA-256.

-- RFC 3339 UTC text for API responses, e.g. 2026-11-23T22:44:00Z.
CREATE FUNCTION api_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- Microsecond-precise form used inside keyset cursors.
CREATE FUNCTION cursor_time(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username        text NOT NULL CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$'),
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' in email) > 1),
    password_hash   text NOT NULL,
    is_admin        boolean NOT NULL DEFAULT false,
    is_active       boolean NOT NULL DEFAULT true,
    storage_quota   bigint NOT NULL CHECK (storage_quota >= 0),
    storage_used    bigint NOT NULL DEFAULT 0,
    root_folder_id  uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- quota is enforced here, so no interleaving of requests can exceed it
    CONSTRAINT users_usage_within_quota CHECK (storage_used >= 0 AND storage_used <= storage_quota)
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE folders (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    parent_id    uuid REFERENCES folders(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) <= 255 AND position('/' in name) = 0),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 4096),
    path         text NOT NULL,
    file_count   bigint NOT NULL DEFAULT 0 CHECK (file_count >= 0),
    total_size   bigint NOT NULL DEFAULT 0 CHECK (total_size >= 0),
    is_deleted   boolean NOT NULL DEFAULT false,
    deleted_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    -- the root folder (no parent) has the empty name; every other folder a real one
    CONSTRAINT folders_root_shape CHECK ((parent_id IS NULL) = (name = '')),
    CONSTRAINT folders_deleted_shape CHECK (is_deleted = (deleted_at IS NOT NULL))
);
CREATE UNIQUE INDEX folders_one_root ON folders (user_id) WHERE parent_id IS NULL;
CREATE UNIQUE INDEX folders_sibling_name ON folders (parent_id, name) WHERE NOT is_deleted;
CREATE INDEX folders_user ON folders (user_id);

ALTER TABLE users ADD CONSTRAINT users_root_folder_fkey
    FOREIGN KEY (root_folder_id) REFERENCES folders(id) DEFERRABLE INITIALLY DEFERRED;

-- One row per distinct content; files and versions point here by hash.
CREATE TABLE blobs (
    sha256       bytea PRIMARY KEY CHECK (length(sha256) = 32),
    size         bigint NOT NULL CHECK (size >= 0),
    stored_size  bigint NOT NULL CHECK (stored_size >= 0),
    compression  text NOT NULL DEFAULT 'none' CHECK (compression IN ('none', 'zlib')),
    ref_count    bigint NOT NULL DEFAULT 0 CHECK (ref_count >= 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX blobs_unreferenced ON blobs (created_at) WHERE ref_count = 0;

CREATE TABLE files (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    folder_id       uuid NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 255 AND position('/' in name) = 0),
    original_name   text NOT NULL,
    sha256          bytea NOT NULL REFERENCES blobs(sha256),
    size            bigint NOT NULL CHECK (size >= 0),
    mime_type       text NOT NULL DEFAULT 'application/octet-stream',
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 4096),
    tags            text[] NOT NULL DEFAULT '{}',
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    download_count  bigint NOT NULL DEFAULT 0 CHECK (download_count >= 0),
    is_deleted      boolean NOT NULL DEFAULT false,
    deleted_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT files_deleted_shape CHECK (is_deleted = (deleted_at IS NOT NULL))
);
CREATE UNIQUE INDEX files_sibling_name ON files (folder_id, name) WHERE NOT is_deleted;
CREATE INDEX files_user ON files (user_id);
CREATE INDEX files_sha256 ON files (sha256);

CREATE TABLE file_versions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    file_id         uuid NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    version_number  integer NOT NULL CHECK (version_number >= 1),
    sha256          bytea NOT NULL REFERENCES blobs(sha256),
    size            bigint NOT NULL CHECK (size >= 0),
    mime_type       text NOT NULL DEFAULT 'application/octet-stream',
    is_current      boolean NOT NULL DEFAULT false,
    created_by      uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (file_id, version_number)
);
CREATE UNIQUE INDEX file_versions_one_current ON file_versions (file_id) WHERE is_current;
CREATE INDEX file_versions_sha256 ON file_versions (sha256);

CREATE TABLE shares (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    file_id           uuid REFERENCES files(id) ON DELETE CASCADE,
    folder_id         uuid REFERENCES folders(id) ON DELETE CASCADE,
    share_token_hash  bytea NOT NULL UNIQUE,
    permission_level  text NOT NULL CHECK (permission_level IN ('view', 'download')),
    password_hash     text,
    expires_at        timestamptz,
    download_limit    bigint CHECK (download_limit > 0),
    access_count      bigint NOT NULL DEFAULT 0 CHECK (access_count >= 0),
    download_count    bigint NOT NULL DEFAULT 0 CHECK (download_count >= 0),
    is_active         boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT shares_one_target CHECK ((file_id IS NULL) <> (folder_id IS NULL))
);
CREATE INDEX shares_user ON shares (user_id, created_at);
CREATE INDEX shares_file ON shares (file_id) WHERE file_id IS NOT NULL;
CREATE INDEX shares_folder ON shares (folder_id) WHERE folder_id IS NOT NULL;

CREATE TABLE activity_log (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid REFERENCES users(id) ON DELETE CASCADE,
    action       text NOT NULL CHECK (action ~ '^[a-z_]{1,40}$'),
    target_id    uuid,
    target_kind  text CHECK (target_kind IN ('file', 'folder', 'share', 'user', 'token', 'session')),
    target_name  text,
    ip_address   inet,
    user_agent   text CHECK (length(user_agent) <= 512),
    details      jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_user_time ON activity_log (user_id, created_at DESC, id DESC);

CREATE TABLE sessions (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    ip_address    inet,
    user_agent    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix        text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at DESC, id DESC);

-- Failed-login counters, per account ('acct:<login>') and per address ('ip:<addr>').
CREATE TABLE auth_throttle (
    key           text PRIMARY KEY,
    failures      integer NOT NULL CHECK (failures > 0),
    window_start  timestamptz NOT NULL DEFAULT now()
);
