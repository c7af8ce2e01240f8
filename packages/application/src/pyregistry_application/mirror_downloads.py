"""One download per mirrored file at a time: whoever starts it first (a background job, a refresh, a request) runs
it; the others wait for its outcome. Queued downloads count as pending on the admin dashboard."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from pyregistry_application.metrics_ports import Metrics
from pyregistry_domain.errors import UpstreamUnavailable

__all__ = ["DOWNLOAD_JOB", "DownloadFlights", "FileKey", "Flight"]

DOWNLOAD_JOB = "mirror_download"
FileKey = tuple[str, str]
"""``(tenant_id, filename)``."""


class Flight:
    """One download of a file: queued, then running, then done (its outcome in ``done``)."""

    __slots__ = ("done", "queued", "running", "ticket")

    def __init__(self, ticket: str) -> None:
        self.done: Future[None] = Future()
        self.queued = False
        self.running = False
        self.ticket = ticket
        """Names the flight in a background job's payload (unique in this process, prefixed by the process)."""


class DownloadFlights:
    """Queued and running downloads of this process, by file; queued ones are counted in ``metrics`` as waiting
    ``mirror_download`` jobs."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._flights: dict[FileKey, Flight] = {}
        self._process = uuid.uuid4().hex
        self._tickets = itertools.count()

    def queue(self, key: FileKey) -> tuple[Flight, bool]:
        """The file's download, queued now unless it is queued or running already; ``(flight, queued_now)``."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = self._new_flight()
            flight.queued = True
            self._metrics.job_queued(DOWNLOAD_JOB)
            return flight, True

    def run(self, key: FileKey, work: Callable[[], None], *, queued: Flight | None = None) -> None:
        """Run ``work`` as the file's download, or wait for the one already running; its error is raised here.
        With the ``queued`` flight a caller got from :meth:`queue`, that flight's outcome is the answer even when
        someone else ran it meanwhile."""
        with self._lock:
            flight = self._flights.get(key)
            if queued is not None and flight is not queued:
                flight = queued  # done (or dropped at shutdown) by someone else already
            elif flight is None:
                flight = self._flights[key] = self._new_flight()
            runner = not flight.running and not flight.done.done()
            was_queued = runner and flight.queued
            if runner:
                flight.running, flight.queued = True, False
        if not runner:
            flight.done.result()
            return
        if was_queued:
            self._metrics.job_queued(DOWNLOAD_JOB, -1)
        try:
            work()
        except BaseException as exc:
            flight.done.set_exception(exc)
            raise
        else:
            flight.done.set_result(None)
        finally:
            self._forget(key, flight)

    def run_job(self, key: FileKey, ticket: str | None, work: Callable[[], None]) -> None:
        """A background job's download: the flight named by ``ticket`` when this process queued it (nothing to do
        once it is done), or a new one for a job another process queued."""
        with self._lock:
            flight = self._flights.get(key)
            ours = ticket is not None and ticket.startswith(f"{self._process}:")
            if ours and (flight is None or flight.ticket != ticket):
                return
        self.run(key, work, queued=flight if ours else None)

    def drop_queued(self, reason: str) -> None:
        """Forget downloads that were queued but never started (shutdown); their waiters get ``reason``."""
        with self._lock:
            dropped = [key for key, flight in self._flights.items() if not flight.running]
            flights = [self._flights.pop(key) for key in dropped]
            counted = sum(1 for flight in flights if flight.queued)
            for flight in flights:
                flight.queued = False
            if not self._flights:
                self._idle.notify_all()
        if counted:
            self._metrics.job_queued(DOWNLOAD_JOB, -counted)
        for flight in flights:
            flight.done.set_exception(UpstreamUnavailable(reason))

    def pending(self, tenant_id: str) -> int:
        """Downloads of the tenant queued or running."""
        with self._lock:
            return sum(1 for key in self._flights if key[0] == tenant_id)

    def count(self) -> int:
        """Downloads queued or running."""
        with self._lock:
            return len(self._flights)

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait until no download is queued or running; ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._flights, timeout)

    def _new_flight(self) -> Flight:
        return Flight(f"{self._process}:{next(self._tickets)}")

    def _forget(self, key: FileKey, flight: Flight) -> None:
        with self._lock:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if not self._flights:
                self._idle.notify_all()
