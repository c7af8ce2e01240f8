"""The ``jobs`` and ``job_leases`` tables (migration ``1600_jobs``) on a :class:`SqlDatabase`'s connections.

Claiming is one atomic statement per database: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``UPDLOCK, READPAST`` on
SQL Server, and an ``UPDATE ... RETURNING`` inside SQLite's ``BEGIN IMMEDIATE`` (one writer at a time). A running
job whose lease has expired (its node died) is claimed again like a waiting one.
"""

from __future__ import annotations

# Column and table names in these statements are constants; only values are bound.
# ruff: noqa: S608
import json
import secrets
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from pyregistry_application.background_ports import PendingJob
from pyregistry_application.job_monitor_ports import JOB_STATES, ClaimedJob, JobCounts, JobRecord
from pyregistry_infrastructure.metadata_stores.rows import dump_time, load_time
from pyregistry_infrastructure.metadata_stores.sql_base import SqlConnection, SqlDatabase

__all__ = ["DEFAULT_MAX_ATTEMPTS", "ClaimedJob", "SqlJobTable"]

DEFAULT_MAX_ATTEMPTS = 5
"""Attempts of a job whose kind was registered without a number and whose ``PendingJob`` names none."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ERROR = 2000
_RETURNED = "id, kind, payload, attempts, max_attempts"


def _now() -> datetime:
    return datetime.now(UTC)


def _record(row: dict[str, Any]) -> JobRecord:
    return JobRecord(
        id=row["id"],
        kind=row["kind"],
        state=row["state"],
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        run_at=load_time(row["run_at"]) or _EPOCH,
        created_at=load_time(row["created_at"]) or _EPOCH,
        claimed_by=row["claimed_by"],
        last_error=row["last_error"],
        finished_at=load_time(row["finished_at"]),
    )


class SqlJobTable:
    """Implements ``JobQueue`` (and so ``JobMonitor``): the durable executor's queue and leases."""

    def __init__(self, db: SqlDatabase, clock: Callable[[], datetime] = _now) -> None:
        self._db = db
        self._clock = clock

    @property
    def dialect_name(self) -> str:
        """The database the table lives in ("sqlite", "postgres" or "sqlserver")."""
        return self._db.dialect.name

    # queue

    def enqueue(self, job: PendingJob, max_attempts: int) -> str | None:
        """Add ``job`` in its own transaction; its id, or None when a waiting job has the same kind and dedupe key."""
        with self._db.write() as conn:
            return self.enqueue_in(conn, job, max_attempts)

    def enqueue_in(self, conn: SqlConnection, job: PendingJob, max_attempts: int) -> str | None:
        """Add ``job`` inside the caller's transaction, so it commits (or not) with the change that causes it."""
        if job.dedupe_key is not None and conn.query(
            "SELECT id FROM jobs WHERE kind = ? AND dedupe_key = ? AND state = 'waiting'", (job.kind, job.dedupe_key)
        ):
            return None
        job_id = secrets.token_hex(16)
        now = dump_time(self._clock())
        conn.execute(
            """INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, max_attempts, run_at, created_at)
            VALUES (?, ?, ?, ?, 'waiting', 0, ?, ?, ?)""",
            (job_id, job.kind, json.dumps(job.payload, sort_keys=True), job.dedupe_key, max_attempts, now, now),
        )
        return job_id

    def claim(self, kinds: Collection[str], node: str, lease_seconds: float) -> ClaimedJob | None:
        """Take the oldest due job of one of ``kinds`` (waiting, or running on an expired lease) for ``node``."""
        if not kinds:
            return None
        now = self._clock()
        marks = ", ".join("?" for _ in kinds)
        due = (
            f"kind IN ({marks}) AND ((state = 'waiting' AND run_at <= ?) "
            "OR (state = 'running' AND lease_expires_at < ?))"
        )
        due_params = (*kinds, dump_time(now), dump_time(now))
        take = "state = 'running', claimed_by = ?, lease_expires_at = ?, attempts = attempts + 1"
        take_params = (node, dump_time(now + timedelta(seconds=lease_seconds)))
        name = self._db.dialect.name
        if name == "sqlserver":
            sql = (
                f"WITH next_job AS (SELECT TOP 1 * FROM jobs WITH (UPDLOCK, READPAST, ROWLOCK) WHERE {due} "
                f"ORDER BY run_at) UPDATE next_job SET {take} "
                f"OUTPUT inserted.id, inserted.kind, inserted.payload, inserted.attempts, inserted.max_attempts"
            )
            params: tuple[Any, ...] = (*due_params, *take_params)
        else:
            lock = " FOR UPDATE SKIP LOCKED" if name == "postgres" else ""
            sql = (
                f"UPDATE jobs SET {take} WHERE id = (SELECT id FROM jobs WHERE {due} ORDER BY run_at LIMIT 1{lock}) "
                f"RETURNING {_RETURNED}"
            )
            params = (*take_params, *due_params)
        with self._db.write() as conn:
            rows = conn.query(sql, params)
        if not rows:
            return None
        row = rows[0]
        return ClaimedJob(
            id=row["id"],
            kind=row["kind"],
            payload=json.loads(row["payload"]),
            attempts=int(row["attempts"]),
            max_attempts=int(row["max_attempts"]),
        )

    def complete(self, job_id: str, node: str) -> bool:
        """Mark the job done; False when ``node`` no longer holds it (its lease expired and another node took it)."""
        with self._db.write() as conn:
            cursor = conn.execute(
                """UPDATE jobs SET state = 'done', finished_at = ?, lease_expires_at = NULL
                WHERE id = ? AND claimed_by = ? AND state = 'running'""",
                (dump_time(self._clock()), job_id, node),
            )
            return int(cursor.rowcount) == 1

    def fail(self, job: ClaimedJob, node: str, error: str, retry_in_seconds: float) -> str:
        """Record a failed attempt: waiting again after ``retry_in_seconds``, or failed for good when the attempts
        are used up. Returns the new state ("" when ``node`` no longer holds the job)."""
        now = self._clock()
        state = "failed" if job.attempts >= job.max_attempts else "waiting"
        with self._db.write() as conn:
            cursor = conn.execute(
                """UPDATE jobs SET state = ?, last_error = ?, run_at = ?, lease_expires_at = NULL,
                finished_at = ? WHERE id = ? AND claimed_by = ? AND state = 'running'""",
                (
                    state,
                    error[:_MAX_ERROR],
                    dump_time(now + timedelta(seconds=retry_in_seconds)),
                    dump_time(now) if state == "failed" else None,
                    job.id,
                    node,
                ),
            )
        return state if int(cursor.rowcount) == 1 else ""

    def renew(self, node: str, lease_seconds: float) -> int:
        """Extend the leases of every job and periodic task ``node`` holds; the number of jobs renewed."""
        until = dump_time(self._clock() + timedelta(seconds=lease_seconds))
        with self._db.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET lease_expires_at = ? WHERE claimed_by = ? AND state = 'running'", (until, node)
            )
            conn.execute("UPDATE job_leases SET lease_expires_at = ? WHERE holder = ?", (until, node))
            return int(cursor.rowcount)

    def prune(self, finished_before: datetime) -> int:
        """Delete done jobs finished before the given time (failed ones stay for the admin)."""
        with self._db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM jobs WHERE state = 'done' AND finished_at < ?", (dump_time(finished_before),)
            )
            return int(cursor.rowcount)

    # exclusive periodic tasks

    def hold_lease(self, name: str, node: str, lease_seconds: float) -> bool:
        """Take or keep the lease of periodic task ``name``; True when ``node`` holds it now."""
        now = self._clock()
        until = dump_time(now + timedelta(seconds=lease_seconds))
        with self._db.write() as conn:
            conn.execute(
                self._db.dialect.insert_ignore(
                    "job_leases", ("name", "holder", "lease_expires_at", "next_run_at"), ("name",)
                ),
                (name, None, dump_time(_EPOCH), dump_time(now)),
            )
            cursor = conn.execute(
                """UPDATE job_leases SET holder = ?, lease_expires_at = ?
                WHERE name = ? AND (holder = ? OR holder IS NULL OR lease_expires_at < ?)""",
                (node, until, name, node, dump_time(now)),
            )
            return int(cursor.rowcount) == 1

    def lease_due(self, name: str) -> bool:
        """True when periodic task ``name`` should run now."""
        rows = self._db.rows("SELECT next_run_at FROM job_leases WHERE name = ?", (name,))
        return bool(rows) and (load_time(rows[0]["next_run_at"]) or _EPOCH) <= self._clock()

    def ran(self, name: str, node: str, interval_seconds: float) -> None:
        """Record that ``node`` ran periodic task ``name``: the next run is due ``interval_seconds`` from now."""
        next_run = dump_time(self._clock() + timedelta(seconds=interval_seconds))
        with self._db.write() as conn:
            conn.execute("UPDATE job_leases SET next_run_at = ? WHERE name = ? AND holder = ?", (next_run, name, node))

    def lease_holder(self, name: str) -> str | None:
        """The node holding periodic task ``name``'s lease now, if any."""
        rows = self._db.rows("SELECT holder, lease_expires_at FROM job_leases WHERE name = ?", (name,))
        if not rows or rows[0]["holder"] is None:
            return None
        expires = load_time(rows[0]["lease_expires_at"]) or _EPOCH
        return str(rows[0]["holder"]) if expires > self._clock() else None

    def release_leases(self, node: str) -> None:
        """Give up every periodic-task lease ``node`` holds, so another node takes over at once."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE job_leases SET holder = NULL, lease_expires_at = ? WHERE holder = ?", (dump_time(_EPOCH), node)
            )

    # JobMonitor

    def counts(self) -> JobCounts:
        """Jobs per state."""
        rows = self._db.rows("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        found = {row["state"]: int(row["n"]) for row in rows if row["state"] in JOB_STATES}
        return JobCounts(**found)

    def recent(self, state: str | None, limit: int) -> list[JobRecord]:
        """The newest jobs (of ``state`` when given), newest first."""
        where, params = ("WHERE state = ?", (state,)) if state else ("", ())
        page, page_params = self._db.dialect.page(limit, 0)
        rows = self._db.rows(f"SELECT * FROM jobs {where} ORDER BY created_at DESC, id {page}", (*params, *page_params))
        return [_record(row) for row in rows]

    def get(self, job_id: str) -> JobRecord | None:
        """One job by id."""
        rows = self._db.rows("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _record(rows[0]) if rows else None

    def retry(self, job_id: str) -> bool:
        """Put a failed job back to waiting with a fresh attempt count."""
        with self._db.write() as conn:
            cursor = conn.execute(
                """UPDATE jobs SET state = 'waiting', attempts = 0, run_at = ?, claimed_by = NULL,
                lease_expires_at = NULL, finished_at = NULL WHERE id = ? AND state = 'failed'""",
                (dump_time(self._clock()), job_id),
            )
            return int(cursor.rowcount) == 1
