"""Metadata store backends (memory, SQLite, PostgreSQL, SQL Server), each building every metadata port."""
