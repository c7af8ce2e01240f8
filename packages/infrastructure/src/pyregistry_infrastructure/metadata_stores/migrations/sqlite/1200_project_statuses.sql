-- PEP 792 project status markers, apart from the projects table so a status outlives mirror refreshes and purges.
CREATE TABLE project_statuses (
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    normalized_name TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, normalized_name)
);
