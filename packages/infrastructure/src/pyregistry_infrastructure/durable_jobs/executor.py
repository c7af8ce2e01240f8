"""``BackgroundExecutor`` over the durable job table: any node sharing the database runs any job.

Worker threads claim due jobs of the kinds this node registered; a heartbeat thread keeps the leases of the jobs
(and exclusive periodic tasks) this node runs, so a job whose node dies (SIGKILL) is claimed again by another node
once its lease expires. A failed attempt is retried after ``backoff_seconds * 2**(attempt-1)`` (capped) until
``max_attempts``, then the job stays "failed" for the admin to see and retry. Delivery is at least once: handlers
must be idempotent (webhooks send the job's idempotency key).
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from pyregistry_application.background_ports import JobHandler, PendingJob
from pyregistry_application.job_monitor_ports import ClaimedJob, JobQueue
from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_infrastructure.durable_jobs.job_table import DEFAULT_MAX_ATTEMPTS

__all__ = ["DurableJobExecutor", "node_name"]

_log = structlog.get_logger(__name__)
_DEFAULT_ATTEMPTS = DEFAULT_MAX_ATTEMPTS
_PRUNE_EVERY_SECONDS = 3600.0


def node_name() -> str:
    """A name unique to this process: host, pid and a random suffix (a restarted node is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class DurableJobExecutor:
    """Implements ``BackgroundExecutor`` on a ``JobQueue`` (the job table in the metadata store)."""

    def __init__(
        self,
        table: JobQueue,
        *,
        node: str | None = None,
        workers: int = 2,
        poll_seconds: float = 0.5,
        lease_seconds: float = 30.0,
        backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 300.0,
        keep_done_days: float = 7.0,
        metrics: Metrics | None = None,
    ) -> None:
        if workers < 1 or poll_seconds <= 0 or lease_seconds <= 0:
            raise ValueError("workers must be at least 1; poll_seconds and lease_seconds greater than zero")
        self.table = table
        self.node = node or node_name()
        self._workers = workers
        self._poll = poll_seconds
        self._lease = lease_seconds
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._keep_done = timedelta(days=keep_done_days)
        self._metrics: Metrics = metrics or NoMetrics()
        self._handlers: dict[str, JobHandler] = {}
        self._attempts: dict[str, int] = {}
        self._periodic: list[tuple[str, float, bool]] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._last_prune = 0.0

    def register(self, kind: str, handler: JobHandler, *, max_attempts: int = _DEFAULT_ATTEMPTS) -> None:
        """Name the handler for a job kind (before ``start``)."""
        if max_attempts < 1:
            raise ValueError(f"job kind {kind!r}: max_attempts must be at least 1")
        self._handlers[kind] = handler
        self._attempts[kind] = max_attempts

    def submit(self, job: PendingJob) -> None:
        """Write the job to the table (its own transaction); a local worker is woken to look at once."""
        job_id = self.table.enqueue(job, job.max_attempts or self._attempts.get(job.kind, _DEFAULT_ATTEMPTS))
        _log.info("jobs.enqueued", kind=job.kind, job_id=job_id, deduplicated=job_id is None)
        self._wake.set()

    def wake(self) -> None:
        """Have a local worker look at the table now (after a transaction that enqueued jobs has committed)."""
        self._wake.set()

    def every(self, kind: str, interval_seconds: float, *, exclusive: bool = False) -> None:
        """Run ``kind``'s handler with an empty payload every ``interval_seconds`` (on one node when exclusive)."""
        if interval_seconds <= 0:
            raise ValueError(f"job kind {kind!r}: interval_seconds must be greater than zero")
        self._periodic.append((kind, interval_seconds, exclusive))

    def start(self) -> None:
        """Start the workers, the heartbeat and one thread per periodic task (idempotent)."""
        with self._lock:
            if self._threads:
                return
            self._stop.clear()
            targets: list[tuple[str, Any, tuple[Any, ...]]] = [
                (f"job-worker-{number}", self._work, ()) for number in range(self._workers)
            ]
            targets.append(("job-heartbeat", self._heartbeat, ()))
            targets += [
                (f"job-every-{kind}", self._repeat, (kind, every, exclusive))
                for kind, every, exclusive in self._periodic
            ]
            for name, target, args in targets:
                thread = threading.Thread(target=target, args=args, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)
        _log.info("jobs.started", node=self.node, kinds=sorted(self._handlers), workers=self._workers)

    def shutdown(self, grace_seconds: float) -> None:
        """Stop claiming, let running jobs finish within ``grace_seconds``; a job still running after that is left
        to its lease (another node, or the next start, claims it again). Periodic-task leases are given up."""
        with self._lock:
            threads, self._threads = self._threads, []
        self._stop.set()
        self._wake.set()
        remaining = grace_seconds
        for thread in threads:
            started = datetime.now(UTC)
            thread.join(max(0.0, remaining))
            remaining -= (datetime.now(UTC) - started).total_seconds()
        left = [thread.name for thread in threads if thread.is_alive()]
        try:
            self.table.release_leases(self.node)
        except Exception as exc:
            _log.warning("jobs.release_failed", node=self.node, error=_describe(exc))
        _log.info("jobs.stopped", node=self.node, still_running=left)

    # threads

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                job = self.table.claim(list(self._handlers), self.node, self._lease)
            except Exception as exc:
                _log.warning("jobs.claim_failed", node=self.node, error=_describe(exc))
                job = None
            if job is None:
                self._wake.wait(self._poll)
                self._wake.clear()
                continue
            self._run(job)

    def _run(self, job: ClaimedJob) -> None:
        log = _log.bind(job_id=job.id, kind=job.kind, attempt=job.attempts, node=self.node)
        if job.attempts > job.max_attempts:
            self.table.fail(job, self.node, "the node running its last attempt stopped (lease expired)", 0)
            log.warning("jobs.failed", error="lease expired on the last attempt")
            return
        try:
            with self._metrics.job_running(job.kind):
                self._handlers[job.kind](job.payload)
        except Exception as exc:
            delay = min(self._max_backoff, self._backoff * 2 ** (job.attempts - 1))
            error = _describe(exc)
            state = self._settle(lambda: self.table.fail(job, self.node, error, delay), log)
            log.warning("jobs.attempt_failed", error=error, state=state, retry_in_seconds=delay)
            return
        done = self._settle(lambda: self.table.complete(job.id, self.node), log)
        log.info("jobs.done" if done else "jobs.done_after_lease_lost")

    def _settle(self, write: Any, log: Any) -> Any:
        """Record an outcome, retrying a database hiccup until stop (the lease covers the wait)."""
        while True:
            try:
                return write()
            except Exception as exc:
                log.warning("jobs.record_failed", error=_describe(exc))
                if self._stop.wait(self._poll):
                    return None

    def _heartbeat(self) -> None:
        interval = self._lease / 3
        while not self._stop.wait(interval):
            try:
                self.table.renew(self.node, self._lease)
                self._prune()
            except Exception as exc:
                _log.warning("jobs.heartbeat_failed", node=self.node, error=_describe(exc))

    def _prune(self) -> None:
        now = datetime.now(UTC)
        if now.timestamp() - self._last_prune < _PRUNE_EVERY_SECONDS:
            return
        self._last_prune = now.timestamp()
        removed = self.table.prune(now - self._keep_done)
        if removed:
            _log.info("jobs.pruned", removed=removed)

    def _repeat(self, kind: str, interval: float, exclusive: bool) -> None:
        """A periodic task: on this node ``interval`` after start and after each run; when ``exclusive``, whenever
        the shared schedule says it is due and this node holds the lease."""
        pause = min(interval, self._lease / 3) if exclusive else interval
        if not exclusive and self._stop.wait(interval):
            return
        while not self._stop.is_set():
            try:
                if not exclusive:
                    self._run_periodic(kind, {})
                elif self.table.hold_lease(kind, self.node, self._lease) and self.table.lease_due(kind):
                    self._run_periodic(kind, {})
                    self.table.ran(kind, self.node, interval)
            except Exception as exc:
                _log.warning("jobs.periodic_failed", kind=kind, node=self.node, error=_describe(exc))
            self._stop.wait(pause)

    def _run_periodic(self, kind: str, payload: Mapping[str, Any]) -> None:
        handler = self._handlers.get(kind)
        if handler is None:
            _log.warning("jobs.periodic_unregistered", kind=kind)
            return
        try:
            with self._metrics.job_running(kind):
                handler(payload)
        except Exception as exc:
            _log.warning("jobs.periodic_failed", kind=kind, node=self.node, error=_describe(exc))
