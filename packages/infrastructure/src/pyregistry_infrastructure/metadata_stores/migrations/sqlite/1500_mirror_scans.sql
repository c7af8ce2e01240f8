-- Scan before serve: one security-scan verdict per sha256 (shared by every tenant), and per-tenant releases of
-- quarantined files by an admin.
CREATE TABLE mirror_scans (
    sha256 TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    scanned_at TEXT NOT NULL,
    findings INTEGER NOT NULL,
    worst_severity TEXT,
    worst_rule_id TEXT
);
CREATE TABLE mirror_file_releases (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    filename TEXT NOT NULL,
    released_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    released_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha256)
);
