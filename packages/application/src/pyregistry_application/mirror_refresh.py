"""Refreshing mirrored project pages from upstream: on a page view past the TTL, from the CLI and the admin UI
(as a background ``mirror_refresh`` job), and for every tenant on the updater's passes."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from pyregistry_application.audit import AuditTrail
from pyregistry_application.background_ports import BackgroundExecutor, PendingJob
from pyregistry_application.blob_keys import mirrored_blob_key_for
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.metrics_ports import Metrics
from pyregistry_application.mirror_ports import MIRROR_ACTOR, MirrorStore, UpstreamFile, UpstreamIndex, UpstreamProject
from pyregistry_application.mirror_provenance import MirroredProvenance
from pyregistry_application.mirror_read_through import MirrorOptions, MirrorReadThrough
from pyregistry_application.mirror_status import (
    REFRESH_ACTION,
    REFRESH_REQUEST_ACTION,
    MirrorActivity,
    MirrorRefreshReport,
    MirrorRefreshRun,
)
from pyregistry_application.ports import Clock
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_domain.distributions import ReleaseFile, parse_distribution_filename
from pyregistry_domain.errors import InvalidFilename, NotFound, UpstreamUnavailable
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.projects import Project, ProjectOrigin, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.versions import parse_version

__all__ = ["REFRESH_JOB", "FileProgress", "MirrorRefresher", "StopRequested", "newest_versions"]

_log = logging.getLogger("pyregistry_application.mirroring")
REFRESH_JOB = "mirror_refresh"
FileProgress = Callable[[ReleaseFile], None]
StopRequested = Callable[[], bool]


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


class MirrorRefresher:
    """Records upstream pages in a tenant and caches the newest files of each (through :class:`MirrorReadThrough`)."""

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        mirror_store: MirrorStore,
        upstream: UpstreamIndex,
        clock: Clock,
        audit: AuditTrail,
        options: MirrorOptions,
        read: MirrorReadThrough,
        activity: MirrorActivity,
        *,
        executor: BackgroundExecutor,
        metrics: Metrics,
        closing: threading.Event,
        malware: MalwareBlocklist | None = None,
        provenance: MirroredProvenance | None = None,
    ) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._provenance = provenance
        self._mirror_store = mirror_store
        self._upstream = upstream
        self._clock = clock
        self._audit = audit
        self._options = options
        self._read = read
        self._activity = activity
        self._executor = executor
        self._metrics = metrics
        self._closing = closing
        self._malware = malware
        executor.register(REFRESH_JOB, self._refresh_job, max_attempts=1)

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
                self._read.download_later(file)
        return recorded

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
        When ``should_stop`` answers true (or the mirror is closing) the refresh ends before its next project
        or download, and the report says ``stopped``.
        """
        tenant = self.mirroring_tenant(tenant_slug)
        names = [normalize_project_name(project)] if project else self.mirrored_projects(tenant)
        self._activity.begin(tenant.id)
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
            self._activity.finish(tenant.id, errors=errors, run=run)
        return MirrorRefreshReport(
            tenant_slug=tenant.slug, projects=names, files_cached=cached, errors=errors, stopped=stopped
        )

    def refresh_in_background(
        self, tenant_slug: str, project: str | None = None, *, actor: str, source_ip: str | None = None
    ) -> bool:
        """Queue :meth:`refresh` as a background job (the admin UI's "refresh mirror cache").

        Every request is audited. ``False`` (nothing queued) while a refresh of the tenant is already running.
        """
        tenant = self.mirroring_tenant(tenant_slug)
        name = normalize_project_name(project) if project else None
        if name is not None:
            local = self._catalogue.get_project(tenant.id, name)
            if local is None or not local.is_mirrored:
                raise NotFound(f"project {name!r} is not mirrored in tenant {tenant.slug!r}")
        started = self._activity.begin(tenant.id, unless_running=True)
        self._audit.record(
            actor=actor,
            action=REFRESH_REQUEST_ACTION,
            target=f"{tenant.slug}/{name or '*'}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"started": "yes" if started else "no: a refresh is already running"},
        )
        if started:
            payload = {"tenant_slug": tenant.slug, "project": name, "actor": actor}
            try:
                self._executor.submit(PendingJob(kind=REFRESH_JOB, payload=payload, dedupe_key=tenant.id))
            except Exception:
                self._activity.finish(tenant.id)
                raise
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

    def mirroring_tenant(self, tenant_slug: str) -> Tenant:
        """The tenant; ``NotFound`` when it does not exist or does not mirror."""
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        if not tenant.mirroring_enabled:
            raise NotFound(f"tenant {tenant_slug!r} does not have mirroring enabled")
        return tenant

    def _refresh_job(self, payload: Mapping[str, Any]) -> None:
        """The ``mirror_refresh`` job; it holds the running mark :meth:`refresh_in_background` set."""
        slug = str(payload["tenant_slug"])
        project = payload.get("project")
        tenant = self._tenants.get_tenant_by_slug(slug)
        if tenant is None:
            return
        try:
            with self._metrics.job_running(REFRESH_JOB):
                self.refresh(slug, str(project) if project else None, actor=str(payload["actor"]))
        except Exception as exc:
            _log.exception("mirror.refresh_failed tenant=%s project=%s", slug, project)
            self._activity.failed(tenant.id, str(exc) or type(exc).__name__)
        finally:
            self._activity.finish(tenant.id)

    def _stop_requested(self, should_stop: StopRequested | None) -> bool:
        return self._closing.is_set() or (should_stop is not None and should_stop())

    def _cache_all(
        self,
        files: list[ReleaseFile],
        errors: list[str],
        on_file_done: FileProgress | None,
        should_stop: StopRequested | None,
    ) -> tuple[int, bool]:
        """Download ``files``: queued as background downloads (idle workers take some), the rest downloaded here in
        order; ``(cached, stopped)``. Downloads not started yet are skipped on a stop."""
        queued = [(file, self._read.download_later(file)) for file in files]
        cached = 0
        stopped = False
        for file, flight in queued:
            if self._stop_requested(should_stop):
                stopped = True
                continue
            try:
                self._read.download_now(file, flight)
                cached += 1
            except Exception as exc:
                if self._closing.is_set():
                    stopped = True
                    continue
                errors.append(f"{file.filename}: {exc}")
            if on_file_done is not None:
                on_file_done(file)
        return cached, stopped
