-- The root index shows project names only, so it gets a version of its own, moved only by writes that add,
-- rename, take over or remove a project of the tenant (mirror refreshes included). An upload of another version,
-- a yank or a status change leaves a large root index cached. The serial column still moves with every change to
-- the projects of the tenant: the page watcher of each server finds changed project pages through it.
ALTER TABLE tenant_listings ADD COLUMN names_serial INTEGER NOT NULL DEFAULT 0;
UPDATE tenant_listings SET names_serial = serial;
