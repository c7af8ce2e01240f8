-- Trusted publishing for SQL Server: the derived NVARCHAR(255) columns make the publisher key wider than the
-- 1700 bytes SQL Server allows, so the key columns get the lengths the domain enforces (publishers.py).
CREATE TABLE trusted_publishers (
    id NVARCHAR(64) NOT NULL PRIMARY KEY,
    tenant_id NVARCHAR(64) NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    project NVARCHAR(200) NOT NULL,
    provider NVARCHAR(16) NOT NULL,
    repository NVARCHAR(200) NOT NULL,
    workflow NVARCHAR(200) NOT NULL,
    environment NVARCHAR(128) NOT NULL,
    created_at NVARCHAR(40) NOT NULL,
    created_by NVARCHAR(MAX) NOT NULL,
    UNIQUE (tenant_id, project, provider, repository, workflow, environment)
);
CREATE INDEX trusted_publishers_provider ON trusted_publishers(provider);
CREATE TABLE oidc_used_jti (
    issuer NVARCHAR(255) NOT NULL,
    jti NVARCHAR(190) NOT NULL,
    expires_at NVARCHAR(40) NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX oidc_used_jti_expiry ON oidc_used_jti(expires_at);
