-- Root index version per tenant: one row read by key, whatever the number of projects. Every write that adds,
-- changes or removes a project of the tenant sets it to that write's serial, in the same transaction.
CREATE TABLE tenant_listings (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    serial INTEGER NOT NULL
);
INSERT INTO tenant_listings (tenant_id, serial) SELECT tenant_id, MAX(serial) FROM projects GROUP BY tenant_id;
