-- Hot read path: the root index version (project count and highest serial per tenant) from the index alone.
CREATE INDEX projects_tenant_serial ON projects(tenant_id, serial);
