"""Read-through mirroring: upstream project pages recorded per tenant, files cached on first download."""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
import math
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime
from pathlib import Path

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.blob_keys import metadata_key_for, mirrored_blob_key_for
from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.metrics_ports import Metrics, NoMetrics
from pyregistry_application.mirror_ports import (
    MIRROR_ACTOR,
    MirrorStore,
    UpstreamFile,
    UpstreamIndex,
    UpstreamLocationRefused,
    UpstreamProject,
)
from pyregistry_application.mirror_provenance import MirroredProvenance
from pyregistry_application.mirror_scanning import ScanBeforeServe
from pyregistry_application.mirror_spool import DownloadSpool
from pyregistry_application.ports import ArtifactStorage, Clock
from pyregistry_application.provenance_continuity import ProvenanceContinuity
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_domain.distributions import ReleaseFile, parse_distribution_filename
from pyregistry_domain.errors import InvalidFilename, NotFound, UpstreamUnavailable
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.projects import Project, ProjectOrigin, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.versions import parse_version

__all__ = [
    "REFRESH_ACTION",
    "REFRESH_REQUEST_ACTION",
    "ChecksumMismatch",
    "MirrorOptions",
    "MirrorProjectStatus",
    "MirrorRefreshReport",
    "MirrorRefreshRun",
    "MirrorService",
    "MirrorStatus",
]

REFRESH_ACTION = "mirror.refresh"
REFRESH_REQUEST_ACTION = "mirror.request_refresh"
_log = logging.getLogger(__name__)

FileProgress = Callable[[ReleaseFile], None]
StopRequested = Callable[[], bool]
_SHUTTING_DOWN = "the mirror is shutting down"
DOWNLOAD_JOB = "mirror_download"
REFRESH_JOB = "mirror_refresh"
HELD_TAIL_BYTES = 64 * 1024
"""What a streamed first download holds back until the file is verified and scanned."""
HEARTBEAT_SECONDS = 5.0
"""While a streamed file is verified and scanned, one held byte is sent this often, so clients' read timeouts
(pip and uv: 15 s or more between bytes) never run out."""
HELD_MIN_BYTES = 1024
"""Heartbeats never release these last bytes: the client cannot have a complete file before the verdict."""


def _in_background(work: Callable[..., None], *args: object) -> Future[None]:
    """Run ``work(*args)`` on a daemon thread (in the caller's context variables); its outcome is the future's."""
    outcome: Future[None] = Future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            context.run(work, *args)
        except BaseException as exc:
            outcome.set_exception(exc)
        else:
            outcome.set_result(None)

    threading.Thread(target=run, name="mirror-verify", daemon=True).start()
    return outcome


def _finished(future: Future[None], timeout: float | None) -> bool:
    """True once ``future`` is done, waiting up to ``timeout`` seconds (``None``: until it is)."""
    with suppress(Exception):
        future.exception(timeout=timeout)
    return future.done()


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


class MirrorRefreshReport(msgspec.Struct, frozen=True):
    """What one refresh did."""

    tenant_slug: str
    projects: list[str]
    files_cached: int
    errors: list[str]
    stopped: bool = False


class MirrorRefreshRun(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of the latest finished refresh of a tenant (one project, or ``None`` for all of them).

    ``errors`` holds the messages only when this process ran the refresh; other runs are read from the audit trail.
    """

    project: str | None
    finished_at: datetime
    projects: int
    files_cached: int
    error_count: int
    errors: list[str] = msgspec.field(default_factory=list)


class MirrorProjectStatus(msgspec.Struct, frozen=True):
    """One mirrored project: when it was refreshed and how much of it is cached."""

    name: str
    mirrored_at: datetime | None
    files: int
    cached_files: int


class MirrorStatus(msgspec.Struct, frozen=True):
    """Mirror state of a tenant, for the admin dashboard."""

    tenant_slug: str
    mirroring_enabled: bool
    projects: list[MirrorProjectStatus]
    pending_downloads: int
    refreshing: bool
    last_error: str | None
    last_run: MirrorRefreshRun | None = None

    def project(self, normalized_name: str) -> MirrorProjectStatus | None:
        """The status row of one mirrored project (``None`` when it is not mirrored)."""
        wanted = normalize_project_name(normalized_name)
        return next((row for row in self.projects if normalize_project_name(row.name) == wanted), None)


def _release_files(tenant: Tenant, upstream: UpstreamProject, normalized: str, now: datetime) -> list[ReleaseFile]:
    files: list[ReleaseFile] = []
    for entry in upstream.files:
        try:
            parsed = parse_distribution_filename(entry.filename)
        except InvalidFilename:
            continue
        if parsed.normalized_name != normalized:
            continue
        files.append(_release_file(tenant, upstream.name, normalized, parsed.version, parsed.kind, entry, now))
    return files


def _release_file(
    tenant: Tenant, name: str, normalized: str, version: str, kind: object, entry: UpstreamFile, now: datetime
) -> ReleaseFile:
    return ReleaseFile(
        tenant_id=tenant.id,
        project_name=name,
        normalized_name=normalized,
        version=version,
        filename=entry.filename,
        kind=kind,  # type: ignore[arg-type]
        sha256=entry.sha256.lower(),
        size=entry.size or 0,
        blob_key=mirrored_blob_key_for(tenant.id, normalized, entry.filename),
        uploaded_at=now,
        uploaded_by=MIRROR_ACTOR,
        requires_python=entry.requires_python,
        metadata_sha256=entry.metadata_sha256,
        yanked=entry.yanked,
        yanked_reason=entry.yanked_reason,
        origin=ProjectOrigin.MIRROR,
        upstream_url=entry.url,
        cached=False,
    )


def _releases(files: list[ReleaseFile], now: datetime) -> list[Release]:
    """A release is yanked when every one of its upstream files is (yank is per release in our store)."""
    by_version: dict[str, list[ReleaseFile]] = {}
    for file in files:
        by_version.setdefault(file.version, []).append(file)
    releases = []
    for version, group in by_version.items():
        yanked = all(file.yanked for file in group)
        reason = next((file.yanked_reason for file in group if file.yanked_reason), None) if yanked else None
        releases.append(Release(group[0].tenant_id, group[0].normalized_name, version, now, yanked, reason))
    return releases


def newest_versions(files: list[ReleaseFile], percent: int) -> set[str]:
    """The newest ``percent`` % of the versions (at least one when ``percent`` > 0)."""
    if percent <= 0:
        return set()
    versions = sorted({file.version for file in files}, key=parse_version, reverse=True)
    count = max(1, math.ceil(len(versions) * min(percent, 100) / 100))
    return set(versions[:count])


class MirrorService:
    """Mirrors upstream projects into a tenant and caches their files, verified by sha256."""

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        mirror_store: MirrorStore,
        storage: ArtifactStorage,
        upstream: UpstreamIndex,
        clock: Clock,
        audit: AuditTrail,
        spool_dir: Path,
        options: MirrorOptions,
        malware: MalwareBlocklist | None = None,
        metrics: Metrics | None = None,
        gate: ScanBeforeServe | None = None,
        provenance: MirroredProvenance | None = None,
        continuity: ProvenanceContinuity | None = None,
    ) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._provenance = provenance
        self._continuity = continuity
        self._malware = malware
        self._mirror_store = mirror_store
        self._storage = storage
        self._upstream = upstream
        self._clock = clock
        self._audit = audit
        self._spool_dir = spool_dir
        self._options = options
        self._metrics: Metrics = metrics or NoMetrics()
        self._gate = gate
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, options.download_concurrency), thread_name_prefix="mirror-download"
        )
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._pending: dict[tuple[str, str], Future[None]] = {}
        self._refreshing: dict[str, int] = {}
        self._last_error: dict[str, str] = {}
        self._last_run: dict[str, MirrorRefreshRun] = {}

    @property
    def metrics(self) -> Metrics:
        """Where mirroring counts its refreshes and background jobs (the updater counts its passes there too)."""
        return self._metrics

    # read side, called by PackageIndex

    def project(self, tenant: Tenant, normalized: str, recorded: Project | None) -> Project:
        """The mirrored project, refreshed from upstream when its page is older than the TTL.

        Upstream 404 is ``NotFound``; an unreachable upstream serves the recorded (stale) page when there is one.
        """
        if recorded is not None and recorded.mirrored_at is not None:
            age = (self._clock.now() - recorded.mirrored_at).total_seconds()
            if age < self._options.metadata_ttl_seconds:
                return recorded
        try:
            return self.refresh_project(tenant, normalized)
        except NotFound:
            raise
        except UpstreamUnavailable as exc:
            if recorded is None:
                raise
            _log.warning("mirror.stale tenant=%s project=%s error=%s", tenant.slug, normalized, str(exc))
            return recorded

    def refresh_project(self, tenant: Tenant, normalized: str, *, eager: bool = True) -> Project:
        """Fetch the upstream page, record it, and queue the eager downloads."""
        upstream = self._upstream.fetch_project(normalized)
        now = self._clock.now()
        files = _release_files(tenant, upstream, normalized, now)
        if self._provenance is not None:
            urls = {entry.filename: entry.provenance_url for entry in upstream.files}
            files = self._provenance.check(tenant.id, normalized, files, urls)
        project = Project(
            tenant_id=tenant.id,
            name=upstream.name or normalized,
            normalized_name=normalized,
            created_at=now,
            origin=ProjectOrigin.MIRROR,
            mirrored_at=now,
        )
        self._mirror_store.record_mirrored_project(project, _releases(files, now), files)
        recorded = self._catalogue.get_project(tenant.id, normalized)
        if recorded is None or not recorded.is_mirrored:
            raise NotFound(f"project {normalized!r} is published locally in tenant {tenant.slug!r}")
        if eager:
            for file in self.eager_files(tenant, normalized):
                self._submit(file)
        return recorded

    @property
    def gate(self) -> ScanBeforeServe | None:
        """Scan before serve, when it is configured."""
        return self._gate

    @property
    def continuity(self) -> ProvenanceContinuity | None:
        """The provenance-continuity hold, when it is configured."""
        return self._continuity

    def servable(self, tenant_id: str, files: list[ReleaseFile]) -> list[ReleaseFile]:
        """``files`` without the quarantined ones and those held by provenance continuity (pages offer only what a
        download would serve)."""
        hidden: set[str] = set()
        if self._gate is not None:
            hidden.update(self._gate.quarantined(tenant_id, files))
        if self._continuity is not None:
            hidden.update(self._continuity.held(tenant_id, files))
        return [file for file in files if file.filename not in hidden] if hidden else files

    def refuse_if_held(self, file: ReleaseFile) -> None:
        """Refuse a download of a file held by provenance continuity (cached or not) with the reason."""
        if self._continuity is not None:
            self._continuity.refuse_if_held(file)

    def read_through(self, file: ReleaseFile) -> ReleaseFile:
        """Cache a file on its first download: fetched, verified by sha256, scanned and stored before any byte is
        served, so a bad or broken transfer or a quarantined file is an error response and never part of a file.
        The cached record is returned (or the local file that took the project over meanwhile)."""
        if self._gate is not None:
            self._gate.refuse_if_quarantined(file)
        self.cache_file(file)
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
        if self._gate is not None:
            self._gate.refuse_if_quarantined(file)
        chunks = self._held_tail(file)
        next(chunks)
        return chunks

    def core_metadata(self, file: ReleaseFile) -> bytes:
        """The PEP 658 metadata of a mirrored file, fetched once, verified and cached (refused while the file is
        quarantined)."""
        if self._gate is not None and not file.cached:
            self._gate.refuse_if_quarantined(file)
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

    # refresh, called by the CLI, the admin UI and the background updater

    def eager_files(self, tenant: Tenant, normalized: str) -> list[ReleaseFile]:
        """Uncached files of the newest ``eager_download_percent`` % of versions; never a file of a quarantined
        project or of a version a known-malware advisory blocks (their bytes stay upstream)."""
        if not self._catalogue.get_project_status(tenant.id, normalized).offers_files:
            return []
        files = self._catalogue.list_files(tenant.id, normalized)
        wanted = newest_versions(files, self._options.eager_download_percent)
        return [
            f
            for f in files
            if f.is_mirrored
            and not f.cached
            and f.version in wanted
            and (self._malware is None or self._malware.blocking(normalized, f.version) is None)
        ]

    def refresh(
        self,
        tenant_slug: str,
        project: str | None = None,
        *,
        actor: str,
        on_files: Callable[[int], None] | None = None,
        on_file_done: FileProgress | None = None,
        should_stop: StopRequested | None = None,
    ) -> MirrorRefreshReport:
        """Refresh one project (mirroring it if new) or every mirrored project of the tenant, then cache files.

        ``on_files`` learns how many files will be downloaded; ``on_file_done`` is called after each one.
        When ``should_stop`` answers true (or :meth:`close` was called) the refresh ends before its next project
        or download, and the report says ``stopped``.
        """
        tenant = self._mirroring_tenant(tenant_slug)
        names = [normalize_project_name(project)] if project else self.mirrored_projects(tenant)
        with self._lock:
            self._refreshing[tenant.id] = self._refreshing.get(tenant.id, 0) + 1
        errors: list[str] = []
        cached = 0
        run: MirrorRefreshRun | None = None
        to_cache: list[ReleaseFile] = []
        stopped = False
        try:
            for name in names:
                if self._stop_requested(should_stop):
                    stopped = True
                    break
                local = self._catalogue.get_project(tenant.id, name)
                if local is not None and not local.is_mirrored:
                    errors.append(f"{name}: published locally, not mirrored")
                    continue
                try:
                    self.refresh_project(tenant, name, eager=False)
                except (NotFound, UpstreamUnavailable) as exc:
                    if self._closing.is_set():
                        stopped = True
                        break
                    errors.append(f"{name}: {exc}")
                    continue
                to_cache.extend(self.eager_files(tenant, name))
            if stopped:
                to_cache = []
            if on_files is not None:
                on_files(len(to_cache))
            cached, interrupted = self._cache_all(to_cache, errors, on_file_done, should_stop)
            stopped = stopped or interrupted
            details = {"projects": str(len(names)), "files_cached": str(cached), "errors": str(len(errors))}
            event = self._audit.record(
                actor=actor,
                action=REFRESH_ACTION,
                target=f"{tenant.slug}/{project or '*'}",
                tenant_id=tenant.id,
                details={**details, "stopped": "yes"} if stopped else details,
            )
            self._metrics.mirror_refreshed(errors=len(errors), stopped=stopped)
            run = MirrorRefreshRun(
                project=names[0] if project else None,
                finished_at=event.occurred_at,
                projects=len(names),
                files_cached=cached,
                error_count=len(errors),
                errors=list(errors),
            )
        finally:
            with self._lock:
                self._finish_refresh(tenant.id)
                if errors:
                    self._last_error[tenant.id] = errors[-1]
                else:
                    self._last_error.pop(tenant.id, None)
                if run is not None:
                    self._last_run[tenant.id] = run
        return MirrorRefreshReport(
            tenant_slug=tenant.slug, projects=names, files_cached=cached, errors=errors, stopped=stopped
        )

    def refresh_in_background(
        self, tenant_slug: str, project: str | None = None, *, actor: str, source_ip: str | None = None
    ) -> bool:
        """Start :meth:`refresh` on a background thread (the admin UI's "refresh mirror cache").

        Every request is audited. ``False`` (nothing started) while a refresh of the tenant is already running.
        """
        tenant = self._mirroring_tenant(tenant_slug)
        name = normalize_project_name(project) if project else None
        if name is not None:
            local = self._catalogue.get_project(tenant.id, name)
            if local is None or not local.is_mirrored:
                raise NotFound(f"project {name!r} is not mirrored in tenant {tenant.slug!r}")
        with self._lock:
            started = tenant.id not in self._refreshing
            if started:
                self._refreshing[tenant.id] = 1
        self._audit.record(
            actor=actor,
            action=REFRESH_REQUEST_ACTION,
            target=f"{tenant.slug}/{name or '*'}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"started": "yes" if started else "no: a refresh is already running"},
        )
        if started:
            thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(self._refresh_quietly, tenant, name, actor),
                name="mirror-refresh",
                daemon=True,
            )
            thread.start()
        return started

    def refresh_all(
        self, *, actor: str = "mirror-updater", should_stop: StopRequested | None = None
    ) -> list[MirrorRefreshReport]:
        """Refresh every already-mirrored project in every tenant that mirrors (the background updater's job).

        ``should_stop`` ends the pass before its next project or download, as in :meth:`refresh`.
        """
        reports = []
        for tenant in self._tenants.list_tenants():
            if self._stop_requested(should_stop):
                break
            if tenant.mirroring_enabled and self.mirrored_projects(tenant):
                reports.append(self.refresh(tenant.slug, actor=actor, should_stop=should_stop))
        return reports

    def mirrored_projects(self, tenant: Tenant) -> list[str]:
        """Normalized names of the tenant's mirrored projects."""
        return [p.normalized_name for p in self._catalogue.list_projects(tenant.id) if p.is_mirrored]

    def status(self, tenant_slug: str) -> MirrorStatus:
        """Per-project cache state plus whether a refresh is running, for the admin dashboard."""
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        projects = []
        for project in self._catalogue.list_projects(tenant.id):
            if not project.is_mirrored:
                continue
            files = self._catalogue.list_files(tenant.id, project.normalized_name)
            cached = sum(1 for file in files if file.cached)
            projects.append(MirrorProjectStatus(project.name, project.mirrored_at, len(files), cached))
        recorded = self._recorded_run(tenant)
        with self._lock:
            pending = sum(1 for key in self._pending if key[0] == tenant.id)
            return MirrorStatus(
                tenant_slug=tenant.slug,
                mirroring_enabled=tenant.mirroring_enabled,
                projects=projects,
                pending_downloads=pending,
                refreshing=tenant.id in self._refreshing,
                last_error=self._last_error.get(tenant.id),
                last_run=self._newest_run(self._last_run.get(tenant.id), recorded),
            )

    def wait_idle(self, timeout: float | None = None) -> None:
        """Block until queued background downloads finish (used by tests and the CLI)."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            with suppress(Exception):
                future.result(timeout=timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop mirroring: refreshes end before their next project or download, queued downloads are cancelled,
        running ones end at their next chunk, and upstream retry waits end. Waits up to ``timeout`` seconds for
        the work under way; ``False`` when some is still running (an upstream request that has not answered yet):
        it is abandoned to its daemon thread, which ends with the process, and stores nothing half-written.
        """
        self._closing.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._upstream.close()
        with self._idle:
            idle = self._idle.wait_for(lambda: not self._refreshing and not self._pending, timeout)
            if not idle:
                _log.warning(
                    "mirror.close_abandoned refreshes=%s downloads=%s", len(self._refreshing), len(self._pending)
                )
        return idle

    # internals

    def _mirroring_tenant(self, tenant_slug: str) -> Tenant:
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        if not tenant.mirroring_enabled:
            raise NotFound(f"tenant {tenant_slug!r} does not have mirroring enabled")
        return tenant

    def _recorded_run(self, tenant: Tenant) -> MirrorRefreshRun | None:
        """The latest finished refresh from the audit trail (any process, also before a restart)."""
        events = self._audit.query(AuditQuery(tenant_id=tenant.id, action=REFRESH_ACTION, limit=1)).items
        if not events or events[0].action != REFRESH_ACTION:
            return None
        event = events[0]
        target = event.target.partition("/")[2]

        def count(key: str) -> int:
            value = event.details.get(key, "0")
            return int(value) if value.isdigit() else 0

        return MirrorRefreshRun(
            project=None if target in {"", "*"} else normalize_project_name(target),
            finished_at=event.occurred_at,
            projects=count("projects"),
            files_cached=count("files_cached"),
            error_count=count("errors"),
        )

    @staticmethod
    def _newest_run(local: MirrorRefreshRun | None, recorded: MirrorRefreshRun | None) -> MirrorRefreshRun | None:
        """This process's last run (it knows the error messages) unless the trail has a newer one."""
        if local is None or (recorded is not None and recorded.finished_at > local.finished_at):
            return recorded
        return local

    def _finish_refresh(self, tenant_id: str) -> None:
        """Count one refresh of the tenant as done (call with the lock held)."""
        remaining = self._refreshing.get(tenant_id, 0) - 1
        if remaining > 0:
            self._refreshing[tenant_id] = remaining
        else:
            self._refreshing.pop(tenant_id, None)
            self._idle.notify_all()

    def _stop_requested(self, should_stop: StopRequested | None) -> bool:
        return self._closing.is_set() or (should_stop is not None and should_stop())

    def _until_closing(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """A background download's chunks, ended by :meth:`close`."""
        for chunk in chunks:
            if self._closing.is_set():
                raise UpstreamUnavailable(_SHUTTING_DOWN)
            yield chunk

    def _refresh_quietly(self, tenant: Tenant, project: str | None, actor: str) -> None:
        """The background refresh; it holds the running mark ``refresh_in_background`` set."""
        try:
            with self._metrics.job_running(REFRESH_JOB):
                self.refresh(tenant.slug, project, actor=actor)
        except Exception as exc:
            _log.exception("mirror.refresh_failed tenant=%s project=%s", tenant.slug, project)
            with self._lock:
                self._last_error[tenant.id] = str(exc) or type(exc).__name__
        finally:
            with self._lock:
                self._finish_refresh(tenant.id)

    def _cache_all(
        self,
        files: list[ReleaseFile],
        errors: list[str],
        on_file_done: FileProgress | None,
        should_stop: StopRequested | None,
    ) -> tuple[int, bool]:
        """Download ``files`` on the pool; ``(cached, stopped)``, queued downloads being cancelled on a stop."""
        futures = [(file, self._submit(file)) for file in files]
        cached = 0
        stopped = False
        for file, future in futures:
            if self._stop_requested(should_stop):
                stopped = True
                future.cancel()
            try:
                future.result()
                cached += 1
            except CancelledError:
                stopped = True
                continue
            except Exception as exc:
                if self._closing.is_set():
                    stopped = True
                    continue
                errors.append(f"{file.filename}: {exc}")
            if on_file_done is not None:
                on_file_done(file)
        return cached, stopped

    def _submit(self, file: ReleaseFile) -> Future[None]:
        key = (file.tenant_id, file.filename)
        with self._lock:
            existing = self._pending.get(key)
            if existing is not None:
                return existing
            self._metrics.job_queued(DOWNLOAD_JOB)  # before submitting, so the worker's decrement never comes first
            try:
                # the submitter's context variables (a request's id) label the download's log lines
                future = self._executor.submit(contextvars.copy_context().run, self._run_download, file)
            except RuntimeError:
                self._metrics.job_queued(DOWNLOAD_JOB, -1)
                failed: Future[None] = Future()
                failed.set_exception(UpstreamUnavailable(_SHUTTING_DOWN))
                return failed
            self._pending[key] = future
        future.add_done_callback(lambda done: self._forget(key, done))
        return future

    def _run_download(self, file: ReleaseFile) -> None:
        self._metrics.job_queued(DOWNLOAD_JOB, -1)
        with self._metrics.job_running(DOWNLOAD_JOB):
            self._cache_logged(file)

    def _forget(self, key: tuple[str, str], done: Future[None]) -> None:
        if done.cancelled():
            self._metrics.job_queued(DOWNLOAD_JOB, -1)
        with self._lock:
            self._pending.pop(key, None)
            if not self._pending:
                self._idle.notify_all()

    def _cache_logged(self, file: ReleaseFile) -> None:
        current = self._catalogue.get_file(file.tenant_id, file.filename)
        if current is None or not current.is_mirrored or current.cached:
            return  # cached meanwhile, or a local upload took the project over
        try:
            self.cache_file(file)
        except Exception as exc:
            _log.warning("mirror.download_failed file=%s error=%s", file.filename, str(exc))
            raise

    def _url(self, file: ReleaseFile) -> str:
        if not file.upstream_url:
            raise NotFound(f"{file.filename!r} has no upstream location")
        return file.upstream_url

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
        mid-stream, so the client's transfer breaks short of a complete file."""
        attempts = max(1, self._options.max_attempts)
        opened = False
        sent = 0
        held = bytearray()
        with DownloadSpool(self._spool_dir, file.filename) as spool:
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
            verified = _in_background(self._commit, file, spool)
            try:
                while not _finished(verified, HEARTBEAT_SECONDS):
                    if len(held) > HELD_MIN_BYTES:
                        beat = bytes(held[:1])
                        del held[:1]
                        yield beat
            finally:
                _finished(verified, None)  # the spool is removed only after the verification used it
            verified.result()
        yield bytes(held)

    def _commit(self, file: ReleaseFile, spool: DownloadSpool) -> None:
        """Check the spooled bytes' sha256 and scan them, then move them into storage and mark the file cached."""
        if not spool.finish(file.sha256):
            _log.warning("mirror.hash_mismatch file=%s size=%s", file.filename, spool.total)
            raise ChecksumMismatch(f"upstream bytes of {file.filename!r} do not match the recorded sha256")
        if self._gate is not None:
            self._gate.check(file, spool.path)
        self._storage.put_file(file.blob_key, spool.path)
        self._mirror_store.mark_cached(file.tenant_id, file.filename, spool.total)
        current = self._catalogue.get_file(file.tenant_id, file.filename)
        if current is None or current.blob_key != file.blob_key:
            self._storage.delete(file.blob_key)  # a local upload took the project over during the download
        else:
            _log.info("mirror.cached file=%s size=%s", file.filename, spool.total)
