-- Admin UI sessions: the hash of the id in the cookie, so a logout (revoked_at) ends it in every process.
CREATE TABLE admin_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);
