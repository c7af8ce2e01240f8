"""Serving mirrored files: a file is fetched from upstream on its first download, verified by sha256 and scanned
before it is served whole, then kept; large files stream to the client with their last bytes held back until that
verdict, small ones are verified whole first."""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from typing import Any

import msgspec

from pyregistry_application.background_ports import BackgroundExecutor, PendingJob
from pyregistry_application.blob_keys import metadata_key_for
from pyregistry_application.metadata_ports import CatalogueReader
from pyregistry_application.metrics_ports import Metrics
from pyregistry_application.mirror_downloads import DOWNLOAD_JOB, DownloadFlights, Flight
from pyregistry_application.mirror_ports import MirrorStore, UpstreamIndex, UpstreamLocationRefused
from pyregistry_application.mirror_scanning import ScanBeforeServe
from pyregistry_application.mirror_spool import DownloadSpool
from pyregistry_application.ports import ArtifactStorage
from pyregistry_application.side_work_ports import SideWork
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import DomainError, NotFound, UpstreamUnavailable

__all__ = [
    "HEARTBEAT_SECONDS",
    "HELD_MIN_BYTES",
    "HELD_TAIL_BYTES",
    "SHUTTING_DOWN",
    "ChecksumMismatch",
    "MirrorOptions",
    "MirrorReadThrough",
]

_log = logging.getLogger("pyregistry_application.mirroring")
SHUTTING_DOWN = "the mirror is shutting down"
HELD_TAIL_BYTES = 64 * 1024
"""What a streamed first download holds back until the file is verified and scanned."""
HEARTBEAT_SECONDS = 5.0
"""While a streamed file is verified and scanned, one held byte is sent this often, so clients' read timeouts
(pip and uv: 15 s or more between bytes) never run out."""
HELD_MIN_BYTES = 1024
"""Heartbeats never release these last bytes: the client cannot have a complete file before the verdict."""


class ChecksumMismatch(UpstreamUnavailable):
    """Upstream bytes did not match the recorded sha256 (or length); they are discarded."""


class MirrorOptions(msgspec.Struct, frozen=True):
    """Tuning from ``[pypi]``; ``metadata_ttl_seconds`` is how long a recorded page is served without asking,
    ``verify_whole_max_bytes`` the largest first download that is verified whole before its first byte is sent."""

    download_concurrency: int = 4
    eager_download_percent: int = 10
    max_attempts: int = 3
    metadata_ttl_seconds: float = 3600
    verify_whole_max_bytes: int = 1024 * 1024


def _finished(future: Future[None], timeout: float | None) -> bool:
    """True once ``future`` is done, waiting up to ``timeout`` seconds (``None``: until it is)."""
    with suppress(Exception):
        future.exception(timeout=timeout)
    return future.done()


class MirrorReadThrough:
    """First downloads of mirrored files (on request or as background ``mirror_download`` jobs), one at a time
    per file in this process, and their PEP 658 metadata."""

    def __init__(
        self,
        catalogue: CatalogueReader,
        mirror_store: MirrorStore,
        storage: ArtifactStorage,
        upstream: UpstreamIndex,
        spool_dir: Path,
        options: MirrorOptions,
        *,
        executor: BackgroundExecutor,
        side_work: SideWork,
        metrics: Metrics,
        closing: threading.Event,
        gate: ScanBeforeServe | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._mirror_store = mirror_store
        self._storage = storage
        self._upstream = upstream
        self._spool_dir = spool_dir
        self._options = options
        self._executor = executor
        self._side_work = side_work
        self._closing = closing
        self._metrics = metrics
        self.gate = gate
        self.flights = DownloadFlights(metrics)
        self._download_slots = threading.BoundedSemaphore(max(1, options.download_concurrency))
        executor.register(DOWNLOAD_JOB, self._download_job, max_attempts=1)

    def servable(self, tenant_id: str, files: list[ReleaseFile]) -> list[ReleaseFile]:
        """``files`` without the quarantined ones (pages offer only what a download would serve)."""
        if self.gate is None:
            return files
        hidden = self.gate.quarantined(tenant_id, files)
        return [file for file in files if file.filename not in hidden]

    def read_through(self, file: ReleaseFile) -> ReleaseFile:
        """Cache a file on its first download: fetched, verified by sha256, scanned and stored before any byte is
        served, so a bad or broken transfer or a quarantined file is an error response and never part of a file.
        A download of the file already under way is waited for instead of started again. The cached record is
        returned (or the local file that took the project over meanwhile)."""
        if self.gate is not None:
            self.gate.refuse_if_quarantined(file)
        self.flights.run((file.tenant_id, file.filename), lambda: self._cache_unless_cached(file))
        current = self._catalogue.get_file(file.tenant_id, file.filename)
        if current is None:
            raise NotFound(f"file {file.filename!r} is no longer part of project {file.normalized_name!r}")
        return current

    def streams(self, file: ReleaseFile) -> bool:
        """True when a first download of ``file`` is streamed with a held tail rather than verified whole first:
        its upstream size is above ``verify_whole_max_bytes``."""
        return file.size > self._options.verify_whole_max_bytes

    def stream_through(self, file: ReleaseFile) -> Iterator[bytes]:
        """A first download of a large file: bytes reach the client as they arrive from upstream, except the last
        ``HELD_TAIL_BYTES``, released once the whole file matches its sha256, passed the scan and is stored. On a
        mismatch or a quarantine the stream raises without the tail, so the client never has a complete file and
        nothing is cached. Quarantine and upstream errors before the first byte raise here (an error response)."""
        if self.gate is not None:
            self.gate.refuse_if_quarantined(file)
        chunks = self._held_tail(file)
        next(chunks)
        return chunks

    def core_metadata(self, file: ReleaseFile) -> bytes:
        """The PEP 658 metadata of a mirrored file, fetched once, verified and cached (refused while the file is
        quarantined)."""
        if self.gate is not None and not file.cached:
            self.gate.refuse_if_quarantined(file)
        key = metadata_key_for(file.blob_key)
        if self._storage.stat(key) is not None:
            return self._storage.read_bytes(key)
        if file.metadata_sha256 is None:
            raise NotFound(f"{file.filename!r} has no separate core metadata")
        body = self._upstream.fetch_bytes(self._url(file) + ".metadata")
        if not hmac.compare_digest(hashlib.sha256(body).hexdigest(), file.metadata_sha256.lower()):
            raise ChecksumMismatch(f"upstream core metadata of {file.filename!r} does not match its sha256")
        self._storage.put_bytes(key, body)
        return body

    def cache_file(self, file: ReleaseFile) -> None:
        """Download, verify and store one file, retrying truncated transfers up to ``max_attempts``."""
        attempts = max(1, self._options.max_attempts)
        for attempt in range(1, attempts + 1):
            try:
                with self._upstream.open_file(self._url(file)) as stream:
                    self._store_verified(file, self._until_closing(stream.chunks))
                return
            except (ChecksumMismatch, UpstreamLocationRefused):
                raise
            except UpstreamUnavailable:
                if attempt == attempts or self._closing.is_set():
                    raise
                _log.info("mirror.retry_download file=%s attempt=%s", file.filename, attempt)

    def download_later(self, file: ReleaseFile) -> Flight | None:
        """Queue a background download of ``file`` unless one is queued or running already; that download
        (``None`` while the mirror is closing)."""
        if self._closing.is_set():
            return None
        flight, queued_now = self.flights.queue((file.tenant_id, file.filename))
        if queued_now:
            payload = {"tenant_id": file.tenant_id, "filename": file.filename, "ticket": flight.ticket}
            self._executor.submit(PendingJob(kind=DOWNLOAD_JOB, payload=payload, dedupe_key=_job_key(file)))
        return flight

    def download_now(self, file: ReleaseFile, queued: Flight | None = None) -> None:
        """Download ``file`` in this thread, or wait for the download of it under way; with the ``queued``
        download :meth:`download_later` returned, its outcome (a refresh's files)."""
        self.flights.run((file.tenant_id, file.filename), lambda: self._cache_logged(file), queued=queued)

    def _download_job(self, payload: Mapping[str, Any]) -> None:
        """The ``mirror_download`` job: cache the file unless that is done already (or it is gone, or taken over)."""
        file = self._catalogue.get_file(str(payload["tenant_id"]), str(payload["filename"]))
        if file is None or file.cached or not file.is_mirrored:
            return
        ticket = payload.get("ticket")
        key = (file.tenant_id, file.filename)
        with suppress(DomainError):  # logged as mirror.download_failed; the next page view queues it again
            self.flights.run_job(key, str(ticket) if ticket else None, lambda: self._cache_logged(file))

    def _cache_unless_cached(self, file: ReleaseFile) -> None:
        current = self._catalogue.get_file(file.tenant_id, file.filename)
        if current is None or not current.is_mirrored or current.cached:
            return
        self.cache_file(current)

    def _cache_logged(self, file: ReleaseFile) -> None:
        current = self._catalogue.get_file(file.tenant_id, file.filename)
        if current is None or not current.is_mirrored or current.cached:
            return  # cached meanwhile, or a local upload took the project over
        if self._closing.is_set():
            raise UpstreamUnavailable(SHUTTING_DOWN)
        try:
            with self._download_slots, self._metrics.job_running(DOWNLOAD_JOB):
                self.cache_file(file)
        except Exception as exc:
            _log.warning("mirror.download_failed file=%s error=%s", file.filename, str(exc))
            raise

    def _url(self, file: ReleaseFile) -> str:
        if not file.upstream_url:
            raise NotFound(f"{file.filename!r} has no upstream location")
        return file.upstream_url

    def _until_closing(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """A download's chunks, ended by the mirror's close."""
        for chunk in chunks:
            if self._closing.is_set():
                raise UpstreamUnavailable(SHUTTING_DOWN)
            yield chunk

    def _store_verified(self, file: ReleaseFile, chunks: Iterator[bytes]) -> None:
        """Spool ``chunks``, then verify, scan and store them (:meth:`_commit`)."""
        with DownloadSpool(self._spool_dir, file.filename) as spool:
            for chunk in chunks:
                spool.write(chunk)
            self._commit(file, spool)

    def _held_tail(self, file: ReleaseFile) -> Iterator[bytes]:
        """Upstream bytes passed on as they arrive except the last ``HELD_TAIL_BYTES``, released only once the whole
        file is verified, scanned and stored; during that check one held byte goes out every ``HEARTBEAT_SECONDS``.
        It first yields ``b""`` once the upstream download is open. A failure after bytes were sent raises
        mid-stream, so the client's transfer breaks short of a complete file.

        The check runs as side work that owns the spool from then on and removes it when done: a client that goes
        away (the stream closed at a heartbeat, possibly by the garbage collector on the server's event loop) never
        waits for the verdict, and the verified file is still cached for the next download."""
        attempts = max(1, self._options.max_attempts)
        opened = False
        sent = 0
        held = bytearray()
        spool = DownloadSpool(self._spool_dir, file.filename)
        handed_over = False
        try:
            for attempt in range(1, attempts + 1):
                spool.restart()
                held.clear()
                try:
                    with self._upstream.open_file(self._url(file)) as stream:
                        if not opened:
                            opened = True
                            yield b""
                        for chunk in self._until_closing(stream.chunks):
                            spool.write(chunk)
                            if spool.total > file.size:
                                raise ChecksumMismatch(f"upstream sent more bytes of {file.filename!r} than recorded")
                            held += chunk
                            if len(held) > HELD_TAIL_BYTES:
                                release = bytes(held[:-HELD_TAIL_BYTES])
                                del held[:-HELD_TAIL_BYTES]
                                sent += len(release)
                                yield release
                    break
                except (ChecksumMismatch, UpstreamLocationRefused):
                    raise
                except UpstreamUnavailable:
                    if sent or attempt == attempts or self._closing.is_set():
                        raise
                    _log.info("mirror.retry_download file=%s attempt=%s", file.filename, attempt)
            verified = self._verify_aside(file, spool)
            handed_over = True
            while not _finished(verified, HEARTBEAT_SECONDS):
                if len(held) > HELD_MIN_BYTES:
                    beat = bytes(held[:1])
                    del held[:1]
                    yield beat
            verified.result()
        finally:
            if not handed_over:
                spool.discard()
        yield bytes(held)

    def _verify_aside(self, file: ReleaseFile, spool: DownloadSpool) -> Future[None]:
        """Start :meth:`_commit` beside the stream; the side work removes the spool when it is done."""

        def verify() -> None:
            with spool:
                self._commit(file, spool)

        try:
            return self._side_work.start(verify)
        except RuntimeError:
            spool.discard()
            raise UpstreamUnavailable(SHUTTING_DOWN) from None

    def _commit(self, file: ReleaseFile, spool: DownloadSpool) -> None:
        """Check the spooled bytes' sha256 and scan them, then move them into storage and mark the file cached."""
        if not spool.finish(file.sha256):
            _log.warning("mirror.hash_mismatch file=%s size=%s", file.filename, spool.total)
            raise ChecksumMismatch(f"upstream bytes of {file.filename!r} do not match the recorded sha256")
        if self.gate is not None:
            self.gate.check(file, spool.path)
        self._storage.put_file(file.blob_key, spool.path)
        self._mirror_store.mark_cached(file.tenant_id, file.filename, spool.total)
        current = self._catalogue.get_file(file.tenant_id, file.filename)
        if current is None or current.blob_key != file.blob_key:
            self._storage.delete(file.blob_key)  # a local upload took the project over during the download
        else:
            _log.info("mirror.cached file=%s size=%s", file.filename, spool.total)


def _job_key(file: ReleaseFile) -> str:
    return f"{file.tenant_id}/{file.filename}"
