"""Background executors: the single-node in-process one here; the durable job table lives with the SQL store."""
