"""The single-node background executor: worker threads in this process run submitted jobs and periodic tasks.

Jobs wait in memory, so a job still waiting when the process stops is lost (its handler's work is redone by whatever
caused it next time: a page view queues its downloads again, the updater's next pass refreshes again). Periodic tasks
are exclusive trivially: one process runs them, never two runs of one kind at a time.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from pyregistry_application.background_ports import JobHandler, PendingJob

__all__ = ["InProcessExecutor", "UnknownJobKind"]

_log = structlog.get_logger(__name__)


class UnknownJobKind(ValueError):
    """A job was submitted (or scheduled) for a kind no handler was registered for."""


@dataclass(frozen=True, slots=True)
class _Kind:
    handler: JobHandler
    max_attempts: int


@dataclass(order=True, slots=True)
class _Queued:
    """One job waiting in the heap, ordered by when it is due (then by submission order)."""

    due: float
    sequence: int
    job: PendingJob = field(compare=False)
    attempt: int = field(compare=False, default=1)
    periodic: bool = field(compare=False, default=False)
    context: contextvars.Context = field(compare=False, default_factory=contextvars.copy_context)


class InProcessExecutor:
    """Runs jobs on ``workers`` daemon threads; a failed attempt is retried after an exponential backoff
    (``initial_backoff_seconds`` doubling up to ``max_backoff_seconds``) until the kind's ``max_attempts``."""

    def __init__(
        self,
        workers: int = 4,
        *,
        initial_backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1:
            raise ValueError("an executor needs at least one worker")
        self._workers = workers
        self._initial_backoff = initial_backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._now = clock
        self._kinds: dict[str, _Kind] = {}
        self._periodic: dict[str, float] = {}
        self._heap: list[_Queued] = []
        self._waiting: set[tuple[str, str]] = set()
        self._running = 0
        self._sequence = itertools.count()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def register(self, kind: str, handler: JobHandler, *, max_attempts: int = 5) -> None:
        """Name the handler for a job kind (registering a kind again replaces its handler)."""
        if max_attempts < 1:
            raise ValueError(f"job kind {kind!r}: max_attempts must be at least 1")
        with self._lock:
            self._kinds[kind] = _Kind(handler, max_attempts)

    def submit(self, job: PendingJob) -> None:
        """Queue ``job``; a job of the same kind and ``dedupe_key`` still waiting (not yet running) absorbs it."""
        with self._changed:
            if job.kind not in self._kinds:
                raise UnknownJobKind(f"no handler is registered for background job kind {job.kind!r}")
            if job.dedupe_key is not None:
                key = (job.kind, job.dedupe_key)
                if key in self._waiting:
                    return
                self._waiting.add(key)
            self._push(_Queued(self._now(), next(self._sequence), job))

    def every(self, kind: str, interval_seconds: float, *, exclusive: bool = False) -> None:
        """Run ``kind`` with an empty payload ``interval_seconds`` after start, then that long after each run ends
        (runs of one kind never overlap, so ``exclusive`` always holds in one process)."""
        if interval_seconds <= 0:
            raise ValueError(f"job kind {kind!r}: interval_seconds must be greater than zero")
        with self._changed:
            if kind not in self._kinds:
                raise UnknownJobKind(f"no handler is registered for background job kind {kind!r}")
            self._periodic[kind] = interval_seconds
            if self._threads:
                self._schedule_periodic(kind)

    def start(self) -> None:
        """Start the worker threads and the periodic tasks (idempotent; allowed again after :meth:`shutdown`)."""
        with self._changed:
            if self._threads:
                return
            self._stopping = False
            for kind in self._periodic:
                self._schedule_periodic(kind)
            self._threads = [
                threading.Thread(target=self._work, name=f"background-{number}", daemon=True)
                for number in range(1, self._workers + 1)
            ]
            threads = list(self._threads)
        for thread in threads:
            thread.start()
        _log.info("background.started", workers=self._workers, periodic=sorted(self._periodic))

    def shutdown(self, grace_seconds: float) -> None:
        """Stop taking jobs, let running ones finish within ``grace_seconds``; waiting jobs are dropped (logged).
        A job still running after the grace is left to its daemon thread, which ends with the process."""
        with self._changed:
            self._stopping = True
            threads, self._threads = self._threads, []
            dropped = sum(1 for queued in self._heap if not queued.periodic)
            self._heap.clear()
            self._waiting.clear()
            self._changed.notify_all()
        deadline = time.monotonic() + max(0.0, grace_seconds)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        still_running = sum(1 for thread in threads if thread.is_alive())
        if still_running:
            _log.warning("background.shutdown_abandoned", running=still_running, dropped=dropped)
        else:
            _log.info("background.stopped", dropped=dropped)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no submitted job is waiting or running (periodic tasks not counted); ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self._running == 0 and all(queued.periodic for queued in self._heap), timeout
            )

    def _push(self, queued: _Queued) -> None:
        heapq.heappush(self._heap, queued)
        self._changed.notify()

    def _schedule_periodic(self, kind: str) -> None:
        """Queue the next run of a periodic kind one interval from now (call with the lock held)."""
        if any(queued.periodic and queued.job.kind == kind for queued in self._heap):
            return
        job = PendingJob(kind=kind, payload={})
        due = self._now() + self._periodic[kind]
        self._push(_Queued(due, next(self._sequence), job, periodic=True, context=contextvars.Context()))

    def _next(self) -> _Queued | None:
        """The next due job, waiting for one; ``None`` once the executor stops (call with the lock held)."""
        while not self._stopping:
            if self._heap:
                wait = self._heap[0].due - self._now()
                if wait <= 0:
                    queued = heapq.heappop(self._heap)
                    if queued.job.dedupe_key is not None and not queued.periodic:
                        self._waiting.discard((queued.job.kind, queued.job.dedupe_key))
                    self._running += 1
                    return queued
                self._changed.wait(wait)
            else:
                self._changed.wait()
        return None

    def _work(self) -> None:
        while True:
            with self._changed:
                queued = self._next()
            if queued is None:
                return
            try:
                self._run(queued)
            finally:
                with self._changed:
                    self._running -= 1
                    if queued.periodic and not self._stopping and queued.job.kind in self._periodic:
                        self._schedule_periodic(queued.job.kind)
                    self._changed.notify_all()

    def _run(self, queued: _Queued) -> None:
        job = queued.job
        kind = self._kinds[job.kind]
        try:
            queued.context.run(kind.handler, job.payload)
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            if queued.periodic or queued.attempt >= kind.max_attempts:
                _log.exception("background.job_failed", kind=job.kind, attempt=queued.attempt, error=error)
                return
            delay = min(self._max_backoff, self._initial_backoff * 2 ** (queued.attempt - 1))
            _log.warning("background.job_retry", kind=job.kind, attempt=queued.attempt, delay=delay, error=error)
            with self._changed:
                if self._stopping:
                    return
                if job.dedupe_key is not None:
                    self._waiting.add((job.kind, job.dedupe_key))
                due = self._now() + delay
                self._push(_Queued(due, next(self._sequence), job, queued.attempt + 1, context=queued.context))
