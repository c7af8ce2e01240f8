-- A role per (user, tenant): admin, maintainer or auditor. Rows from before this step were tenant admins.
ALTER TABLE tenant_admins ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
