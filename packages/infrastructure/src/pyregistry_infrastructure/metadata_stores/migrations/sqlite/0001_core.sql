-- Core schema: tenants, users, tokens, projects, releases, files, audit.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    mirroring_enabled INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_superadmin INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE tenant_admins (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, tenant_id)
);
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    project TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT,
    minted_by_publisher TEXT
);
CREATE INDEX api_tokens_tenant ON api_tokens(tenant_id);
CREATE TABLE projects (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    normalized_name TEXT NOT NULL,
    name TEXT NOT NULL,
    summary TEXT,
    origin TEXT NOT NULL,
    serial INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    mirrored_at TEXT,
    PRIMARY KEY (tenant_id, normalized_name)
);
CREATE TABLE releases (
    tenant_id TEXT NOT NULL,
    normalized_name TEXT NOT NULL,
    version TEXT NOT NULL,
    created_at TEXT NOT NULL,
    yanked INTEGER NOT NULL DEFAULT 0,
    yanked_reason TEXT,
    PRIMARY KEY (tenant_id, normalized_name, version),
    FOREIGN KEY (tenant_id, normalized_name) REFERENCES projects(tenant_id, normalized_name) ON DELETE CASCADE
);
CREATE TABLE release_files (
    tenant_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    normalized_name TEXT NOT NULL,
    version TEXT NOT NULL,
    project_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    blob_key TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    requires_python TEXT,
    metadata_sha256 TEXT,
    origin TEXT NOT NULL,
    upstream_url TEXT,
    cached INTEGER NOT NULL,
    has_provenance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, filename),
    FOREIGN KEY (tenant_id, normalized_name, version)
        REFERENCES releases(tenant_id, normalized_name, version) ON DELETE CASCADE
);
CREATE INDEX release_files_project ON release_files(tenant_id, normalized_name);
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    occurred_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    tenant_id TEXT,
    source_ip TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events(occurred_at);
CREATE INDEX audit_events_tenant ON audit_events(tenant_id, occurred_at);
CREATE TABLE serial_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
INSERT INTO serial_counter (id, value) VALUES (1, 0);
