-- Trusted publishing: publishers per tenant and project, and identity-token ids seen until they expire.
CREATE TABLE trusted_publishers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    project TEXT NOT NULL,
    provider TEXT NOT NULL,
    repository TEXT NOT NULL,
    workflow TEXT NOT NULL,
    environment TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (tenant_id, project, provider, repository, workflow, environment)
);
CREATE INDEX trusted_publishers_provider ON trusted_publishers(provider);
CREATE TABLE oidc_used_jti (
    issuer TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX oidc_used_jti_expiry ON oidc_used_jti(expires_at);
