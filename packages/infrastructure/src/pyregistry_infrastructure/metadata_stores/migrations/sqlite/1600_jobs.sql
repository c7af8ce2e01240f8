-- The durable job table shared by every node: background work survives the death of the node that claimed it.
-- state is waiting, running, done or failed. A running job whose lease_expires_at has passed is claimed again.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedupe_key TEXT,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at TEXT NOT NULL,
    claimed_by TEXT,
    lease_expires_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_dedupe ON jobs(kind, dedupe_key);
-- One row per exclusive periodic task: the node holding the lease runs it, another takes over when it expires.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT,
    lease_expires_at TEXT NOT NULL,
    next_run_at TEXT NOT NULL
);
