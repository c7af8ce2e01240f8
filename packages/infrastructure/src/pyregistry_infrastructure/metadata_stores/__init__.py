"""RegistryStore adapters: in-memory, SQLite, PostgreSQL and SQL Server."""
