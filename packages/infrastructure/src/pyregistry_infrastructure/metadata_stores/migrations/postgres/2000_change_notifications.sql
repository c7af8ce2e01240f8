-- Every statement that writes one of the tables the stamp read of a request joins (tokens, tenants, listings,
-- projects, releases, files, statuses) notifies channel pyregistry_changes with its schema as the payload, at
-- commit. Each server listens, and keeps its stamp answers only while no such notification arrived
-- (postgres_changes.py). Statement triggers: one notification per statement, and PostgreSQL folds equal ones of
-- one transaction into one.
CREATE FUNCTION pyregistry_stamp_tables_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pyregistry_changes', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$;
DO $$
DECLARE
    stamp_table TEXT;
BEGIN
    FOREACH stamp_table IN ARRAY ARRAY[
        'api_tokens', 'tenants', 'tenant_listings', 'projects', 'releases', 'release_files', 'project_statuses'
    ] LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION pyregistry_stamp_tables_changed()',
            stamp_table || '_changed',
            stamp_table
        );
    END LOOP;
END
$$;
