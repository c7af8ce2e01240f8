"""What the admin dashboard shows of mirroring: per-project cache state, queued downloads, refreshes and their
outcome (this process's runs with their messages, other processes' runs from the audit trail)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_domain.errors import NotFound
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.tenants import Tenant

__all__ = [
    "REFRESH_ACTION",
    "REFRESH_REQUEST_ACTION",
    "MirrorActivity",
    "MirrorProjectStatus",
    "MirrorRefreshReport",
    "MirrorRefreshRun",
    "MirrorStatus",
    "MirrorStatusReader",
]

REFRESH_ACTION = "mirror.refresh"
REFRESH_REQUEST_ACTION = "mirror.request_refresh"


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


class MirrorActivity:
    """This process's refreshes per tenant: how many run, the last error and the last finished run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._refreshing: dict[str, int] = {}
        self._last_error: dict[str, str] = {}
        self._last_run: dict[str, MirrorRefreshRun] = {}

    def begin(self, tenant_id: str, *, unless_running: bool = False) -> bool:
        """Count a refresh of the tenant as running; with ``unless_running``, ``False`` (nothing counted) while
        one already is."""
        with self._lock:
            if unless_running and tenant_id in self._refreshing:
                return False
            self._refreshing[tenant_id] = self._refreshing.get(tenant_id, 0) + 1
            return True

    def finish(self, tenant_id: str, *, errors: list[str] | None = None, run: MirrorRefreshRun | None = None) -> None:
        """Count one refresh of the tenant as done; ``errors`` (when given) replace the last error."""
        with self._lock:
            remaining = self._refreshing.get(tenant_id, 0) - 1
            if remaining > 0:
                self._refreshing[tenant_id] = remaining
            else:
                self._refreshing.pop(tenant_id, None)
                self._idle.notify_all()
            if errors is not None:
                if errors:
                    self._last_error[tenant_id] = errors[-1]
                else:
                    self._last_error.pop(tenant_id, None)
            if run is not None:
                self._last_run[tenant_id] = run

    def failed(self, tenant_id: str, error: str) -> None:
        """Remember a refresh that crashed."""
        with self._lock:
            self._last_error[tenant_id] = error

    def refreshing(self, tenant_id: str) -> bool:
        with self._lock:
            return tenant_id in self._refreshing

    def running(self) -> int:
        """How many refreshes run in this process."""
        with self._lock:
            return len(self._refreshing)

    def wait_idle(self, timeout: float | None) -> bool:
        """Wait until no refresh runs; ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._refreshing, timeout)

    def last(self, tenant_id: str) -> tuple[str | None, MirrorRefreshRun | None]:
        with self._lock:
            return self._last_error.get(tenant_id), self._last_run.get(tenant_id)


class MirrorStatusReader:
    """Builds a tenant's :class:`MirrorStatus` from the store, the audit trail and this process's activity."""

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        audit: AuditTrail,
        activity: MirrorActivity,
        pending: Callable[[str], int],
    ) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._audit = audit
        self._activity = activity
        self._pending = pending

    def status(self, tenant_slug: str) -> MirrorStatus:
        """Per-project cache state, downloads queued or running (``pending``, by tenant id) and whether a refresh
        is running."""
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
        last_error, local_run = self._activity.last(tenant.id)
        return MirrorStatus(
            tenant_slug=tenant.slug,
            mirroring_enabled=tenant.mirroring_enabled,
            projects=projects,
            pending_downloads=self._pending(tenant.id),
            refreshing=self._activity.refreshing(tenant.id),
            last_error=last_error,
            last_run=_newest_run(local_run, recorded),
        )

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


def _newest_run(local: MirrorRefreshRun | None, recorded: MirrorRefreshRun | None) -> MirrorRefreshRun | None:
    """This process's last run (it knows the error messages) unless the trail has a newer one."""
    if local is None or (recorded is not None and recorded.finished_at > local.finished_at):
        return recorded
    return local
