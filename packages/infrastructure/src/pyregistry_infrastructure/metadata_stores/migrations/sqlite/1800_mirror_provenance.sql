-- Provenance of mirrored files (PEP 740, verified against the Sigstore trust root), releases of versions held by
-- the provenance-continuity policy, and each tenant's choice of that policy (absent: the configured default).
CREATE TABLE mirror_provenance (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    normalized_name TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    identity TEXT,
    publisher TEXT,
    detail TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, filename)
);
CREATE INDEX mirror_provenance_project ON mirror_provenance (tenant_id, normalized_name);
CREATE TABLE provenance_continuity_releases (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    normalized_name TEXT NOT NULL,
    version TEXT NOT NULL,
    released_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    released_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, normalized_name, version)
);
CREATE TABLE provenance_policies (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    continuity INTEGER NOT NULL
);
