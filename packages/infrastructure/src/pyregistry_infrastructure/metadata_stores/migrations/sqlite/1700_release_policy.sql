-- Release policies: per-tenant overrides of the configured defaults (NULL keeps the default), admins' early
-- approvals of upstream releases held by the cooldown, and the upload times the upstream gave for its files
-- (one upstream for every tenant, so by filename, and the first time seen is kept).
CREATE TABLE release_policy_overrides (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    min_release_age TEXT,
    unknown_upload_time TEXT,
    block_severity TEXT,
    vulnerability_action TEXT,
    vulnerability_severity TEXT
);
CREATE TABLE release_approvals (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    version TEXT,
    reason TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL
);
CREATE INDEX release_approvals_by_tenant ON release_approvals (tenant_id, project);
CREATE TABLE upstream_upload_times (
    filename TEXT PRIMARY KEY,
    uploaded_at TEXT NOT NULL
);
