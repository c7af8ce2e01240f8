"""Read side of the Simple Repository API: project lists, project pages, file downloads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from pyregistry_application.access import TokenAccess
from pyregistry_application.blob_keys import metadata_key_for
from pyregistry_application.dto import ListedProject
from pyregistry_application.index_versions import (
    AwaitedStampReads,
    DownloadInputs,
    IndexChanges,
    IndexVersions,
    InlineStampReads,
    PageStamp,
    StampInputs,
    StoreIndexVersions,
)
from pyregistry_application.metadata_ports import CatalogueReader
from pyregistry_application.metrics_ports import DownloadSource, Metrics, NoMetrics
from pyregistry_application.ports import ArtifactStorage
from pyregistry_application.project_status import ProjectStatusRecorder
from pyregistry_application.release_metadata import ReleaseInfo, release_info_from_metadata
from pyregistry_application.release_policy import ReleasePolicies, VulnerabilityMark
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.errors import DomainError, InvalidVersion, NotFound
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.offering import file_is_reachable, offered_files, offered_versions
from pyregistry_domain.project_status import ACTIVE, ProjectStatus, ProjectStatusKind
from pyregistry_domain.projects import Project, ProjectOrigin
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import TokenScope
from pyregistry_domain.versions import canonical_version, version_order

if TYPE_CHECKING:
    from pyregistry_application.mirroring import MirrorService

__all__ = ["MALWARE_ACTOR", "FileDownload", "PackageIndex", "PageStamp", "ProjectListing", "ProjectPage"]

MALWARE_ACTOR = "system:malware-advisories"
"""The audit actor of a quarantine set because a malware advisory covers every version of a mirrored project."""


class ProjectListing(msgspec.Struct, frozen=True):
    """A tenant's root index: every project name."""

    tenant: Tenant
    projects: list[ListedProject]
    """By normalized name."""


class ProjectPage(msgspec.Struct, frozen=True):
    """A project's files and versions, oldest version first, and its PEP 792 status."""

    tenant: Tenant
    project: Project
    files: list[ReleaseFile]
    versions: list[str]
    status: ProjectStatus = ACTIVE
    vulnerability_marks: dict[str, list[VulnerabilityMark]] = msgspec.field(default_factory=dict)
    """Version -> advisories a tenant's ``mark`` vulnerability policy shows (upstream versions only)."""


SMALL_FILE_BYTES = 1024 * 1024
"""Files up to this size are read whole where the request is handled: one read costs less than streaming."""


class FileDownload(msgspec.Struct, frozen=True):
    """A file about to be served: its record and its local path (``None`` when storage is remote, then it is
    streamed with :meth:`PackageIndex.chunks`), its bytes when it is small, or the ``stream`` of a large mirrored
    file's first download (its tail held until it is verified)."""

    file: ReleaseFile
    local_path: Path | None
    content: bytes | None = None
    stream: Iterator[bytes] | None = None


def _same_version(stored: str, requested: str) -> bool:
    """``requested`` (from a URL) names ``stored`` (canonical): equal, or equal once normalized."""
    if requested == stored:
        return True
    try:
        return canonical_version(requested) == stored
    except InvalidVersion:
        return False


def _listing_stamp(tenant: Tenant, inputs: StampInputs) -> PageStamp:
    """Which root index a read of ``tenant`` gets: its listing version, and whether mirroring is on."""
    return PageStamp(tenant_id=tenant.id, version=f"{inputs.listing_version}-m{int(tenant.mirroring_enabled)}")


def _project_stamp(tenant: Tenant, inputs: StampInputs) -> PageStamp:
    """Which page a read of the project gets: unstamped (never reused) when it is mirrored or absent."""
    found = inputs.project
    if found is None or tenant.mirroring_enabled or found[1] != ProjectOrigin.LOCAL:
        return PageStamp(tenant_id=tenant.id, version=None)
    return PageStamp(tenant_id=tenant.id, version=str(found[0]))


def _in_version_order(files: Iterable[ReleaseFile]) -> list[ReleaseFile]:
    """``files`` by PEP 440 version, then filename."""
    return sorted(files, key=lambda file: (version_order(file.version), file.filename))


class PackageIndex:
    """Serves what pip and uv read; every call checks a read-scoped token first."""

    def __init__(
        self,
        catalogue: CatalogueReader,
        storage: ArtifactStorage,
        access: TokenAccess,
        mirror: MirrorService | None = None,
        versions: IndexVersions | None = None,
        malware: MalwareBlocklist | None = None,
        statuses: ProjectStatusRecorder | None = None,
        metrics: Metrics | None = None,
        policies: ReleasePolicies | None = None,
        awaited_stamps: AwaitedStampReads | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._policies = policies
        self._storage = storage
        self._access = access
        self._mirror = mirror
        self._versions = versions or StoreIndexVersions(access.tenants, access.tokens, catalogue)
        self._awaited = awaited_stamps or InlineStampReads(self._versions, access.tokens)
        self._malware = malware
        self._statuses = statuses
        self._metrics: Metrics = metrics or NoMetrics()

    def listing_stamp(self, tenant_slug: str, secret: str | None) -> PageStamp:
        """Authorize like :meth:`listing`, then stamp the current version of the root index."""
        inputs = self._versions.stamp_inputs(self._access.key_id(secret), tenant_slug, None)
        return _listing_stamp(self._authorized(secret, inputs, None), inputs)

    def project_stamp(self, tenant_slug: str, secret: str | None, project_name: str) -> PageStamp:
        """Authorize like :meth:`project_page`, then stamp the page; unstamped when it is mirrored or absent."""
        normalized = normalize_project_name(project_name)
        inputs = self._versions.stamp_inputs(self._access.key_id(secret), tenant_slug, normalized)
        return _project_stamp(self._authorized(secret, inputs, normalized), inputs)

    async def awaited_listing_stamp(self, tenant_slug: str, secret: str | None) -> PageStamp:
        """:meth:`listing_stamp` awaited on the event loop (the store's awaited reads)."""
        inputs = await self._awaited.stamp_inputs(self._access.key_id(secret), tenant_slug, None)
        return _listing_stamp(await self._awaited_authorized(secret, inputs, None), inputs)

    async def awaited_project_stamp(self, tenant_slug: str, secret: str | None, project_name: str) -> PageStamp:
        """:meth:`project_stamp` awaited on the event loop (the store's awaited reads)."""
        normalized = normalize_project_name(project_name)
        inputs = await self._awaited.stamp_inputs(self._access.key_id(secret), tenant_slug, normalized)
        return _project_stamp(await self._awaited_authorized(secret, inputs, normalized), inputs)

    def _authorized(self, secret: str | None, inputs: StampInputs, normalized: str | None) -> Tenant:
        """The tenant, when the token read with the page versions may read it (and the project)."""
        token = self._access.verify(secret, inputs.token)
        return self._access.authorize_found(token, inputs.tenant, TokenScope.READ, normalized)

    async def _awaited_authorized(self, secret: str | None, inputs: StampInputs, normalized: str | None) -> Tenant:
        """:meth:`_authorized`, the token's use recorded through the awaited reads."""
        token, touch_at = self._access.verify_leaving_touch(secret, inputs.token)
        tenant = self._access.authorize_found(token, inputs.tenant, TokenScope.READ, normalized)
        if touch_at is not None:
            await self._awaited.touch_token(token.id, touch_at)
        return tenant

    def changes_since(self, serial: int | None) -> IndexChanges:
        """Root indexes and project pages changed after ``serial`` (see :meth:`IndexVersions.changes_since`)."""
        return self._versions.changes_since(serial)

    def tenant_id(self, tenant_slug: str) -> str | None:
        """The id of the tenant with ``tenant_slug``, or ``None``: for a cache refresh, never a reader's check."""
        tenant = self._access.tenants.get_tenant_by_slug(tenant_slug)
        return None if tenant is None else tenant.id

    def refresh_listing(self, tenant_id: str) -> tuple[PageStamp, Callable[[], ProjectListing]] | None:
        """The root index's current stamp and how to read it, for re-rendering a cached page after a change
        (``None``: no such tenant). No token is checked: the caller only refreshes a cache that every request
        still authorizes; never serve it to a request without :meth:`listing_stamp`."""
        tenant = self._access.tenants.get_tenant(tenant_id)
        if tenant is None:
            return None
        version = self._versions.listing_version(tenant.id)
        stamp = PageStamp(tenant_id=tenant.id, version=f"{version}-m{int(tenant.mirroring_enabled)}")
        return stamp, lambda: self._listing_of(tenant)

    def refresh_project(self, tenant_id: str, normalized: str) -> tuple[PageStamp, Callable[[], ProjectPage]] | None:
        """Like :meth:`refresh_listing` for a project page; ``None`` when there is no cacheable page (no such
        tenant or project, or a mirrored page, which is never cached)."""
        tenant = self._access.tenants.get_tenant(tenant_id)
        found = None if tenant is None else self._versions.project_serial(tenant.id, normalized)
        if tenant is None or found is None or tenant.mirroring_enabled or found[1] != ProjectOrigin.LOCAL:
            return None
        return PageStamp(tenant_id=tenant.id, version=str(found[0])), lambda: self._page_of(tenant, normalized)

    def listing(self, tenant_slug: str, secret: str | None) -> ProjectListing:
        """Every project of the tenant, by normalized name."""
        tenant, _ = self._access.authorize(tenant_slug, secret, TokenScope.READ)
        return self._listing_of(tenant)

    def _listing_of(self, tenant: Tenant) -> ProjectListing:
        projects = self._catalogue.listed_projects(tenant.id, with_mirrored=tenant.mirroring_enabled)
        projects.sort(key=attrgetter("normalized_name"))
        return ProjectListing(tenant=tenant, projects=projects)

    def project_page(self, tenant_slug: str, secret: str | None, project_name: str) -> ProjectPage:
        """A project's files; :class:`NotFound` when the tenant has no such project."""
        normalized = normalize_project_name(project_name)
        tenant, _ = self._access.authorize(tenant_slug, secret, TokenScope.READ, normalized)
        return self._page_of(tenant, normalized)

    def _page_of(self, tenant: Tenant, normalized: str) -> ProjectPage:
        project = self._catalogue.get_project(tenant.id, normalized)
        if project is None or project.is_mirrored:
            project = self._mirrored_project(tenant, normalized, project)
        files = self._catalogue.list_files(tenant.id, normalized)
        if project.is_mirrored and self._mirror is not None:
            files = self._mirror.servable(tenant.id, files)
        versions = sorted(set(self._catalogue.release_versions(tenant.id, normalized)), key=version_order)
        status = self._catalogue.get_project_status(tenant.id, normalized)
        blocked: frozenset[str] = frozenset()
        malware = self._malware
        if project.is_mirrored and malware is not None:
            status = self._quarantine_if_all_malware(malware, tenant, normalized, versions, status)
            blocked = frozenset(version for version in versions if malware.blocking(normalized, version) is not None)
        marks: dict[str, list[VulnerabilityMark]] = {}
        if project.is_mirrored and self._policies is not None:
            screened = self._policies.screen(tenant.id, normalized, files)
            files, marks = screened.files, screened.marks
            versions = [version for version in versions if version not in screened.hidden_versions]
        return ProjectPage(
            tenant=tenant,
            project=project,
            files=_in_version_order(offered_files(project, files, status, blocked)),
            versions=offered_versions(versions, status, blocked),
            status=status,
            vulnerability_marks=marks,
        )

    def _quarantine_if_all_malware(
        self, malware: MalwareBlocklist, tenant: Tenant, normalized: str, versions: list[str], status: ProjectStatus
    ) -> ProjectStatus:
        """Quarantine a mirrored project every version of which a malware advisory blocks (once, audited)."""
        advisory = malware.whole_project(normalized, versions)
        if advisory is None or status.kind is ProjectStatusKind.QUARANTINED:
            return status
        quarantined = ProjectStatus(ProjectStatusKind.QUARANTINED, advisory.id)
        if self._statuses is not None:
            self._statuses.change(
                tenant.id, normalized, quarantined, actor=MALWARE_ACTOR, details={"advisory": advisory.id}
            )
        return quarantined

    def download(
        self,
        tenant_slug: str,
        secret: str | None,
        project_name: str,
        filename: str,
        *,
        version: str,
        read_small: bool = True,
    ) -> FileDownload:
        """Locate a file of the project's ``version`` for streaming; with ``read_small``, read it if it is small."""
        file = self._visible_file(tenant_slug, secret, project_name, filename, version)
        if file.is_mirrored and self._mirror is not None:
            self._mirror.refuse_if_held(file)
        if file.is_mirrored and not file.cached and self._mirror is not None:
            self._metrics.download_served(DownloadSource.UPSTREAM)
            if self._mirror.streams(file):
                return FileDownload(file=file, local_path=None, stream=self._mirror.stream_through(file))
            file = self._mirror.read_through(file)
        else:
            self._metrics.download_served(DownloadSource.LOCAL if file.is_local else DownloadSource.MIRROR_CACHE)
        content = self._storage.read_bytes(file.blob_key) if read_small and file.size <= SMALL_FILE_BYTES else None
        return FileDownload(file=file, local_path=self._storage.local_path(file.blob_key), content=content)

    async def awaited_download(
        self,
        tenant_slug: str,
        secret: str | None,
        project_name: str,
        filename: str,
        *,
        version: str,
        read_small: bool = True,
    ) -> FileDownload | None:
        """:meth:`download` of a local file on local disk, its one database read awaited on the event loop;
        ``None`` when it has to be :meth:`download` in a worker thread (mirrored files, object storage). Nothing
        is written on the loop but through the awaited reads."""
        found = await self._local_file_on_loop(tenant_slug, secret, project_name, filename, version)
        if found is None:
            return None
        file, local_path = found
        self._metrics.download_served(DownloadSource.LOCAL)
        content = self._storage.read_bytes(file.blob_key) if read_small and file.size <= SMALL_FILE_BYTES else None
        return FileDownload(file=file, local_path=local_path, content=content)

    async def awaited_core_metadata(
        self, tenant_slug: str, secret: str | None, project_name: str, filename: str, *, version: str
    ) -> bytes | None:
        """:meth:`core_metadata` of a local wheel on local disk, its one database read awaited on the event loop;
        ``None`` when it has to be :meth:`core_metadata` in a worker thread."""
        found = await self._local_file_on_loop(tenant_slug, secret, project_name, filename, version)
        if found is None:
            return None
        file = found[0]
        if file.metadata_sha256 is None:
            raise NotFound(f"{filename!r} has no separate core metadata")
        return self._storage.read_bytes(metadata_key_for(file.blob_key))

    async def _local_file_on_loop(
        self, tenant_slug: str, secret: str | None, project_name: str, filename: str, version: str
    ) -> tuple[ReleaseFile, Path] | None:
        """The visible local file and its path on local disk, from one awaited read (the token's use recorded
        through the awaited reads); ``None`` when the file is mirrored or not on local disk."""
        normalized = normalize_project_name(project_name)
        inputs = await self._awaited.download_inputs(self._access.key_id(secret), tenant_slug, normalized, filename)
        token, touch_at = self._access.verify_leaving_touch(secret, inputs.token)
        try:
            tenant = self._access.authorize_found(token, inputs.tenant, TokenScope.READ, normalized)
            if inputs.file is not None and inputs.file.is_mirrored:
                return None
            file = self._file_in(tenant, normalized, filename, version, inputs)
        finally:
            if touch_at is not None:
                await self._awaited.touch_token(token.id, touch_at)
        local_path = self._storage.local_path(file.blob_key)
        return None if local_path is None else (file, local_path)

    def presigned_url(self, file: ReleaseFile, seconds: int) -> str | None:
        """A short-lived URL the storage itself serves ``file`` from, when it can sign one (object stores)."""
        return self._storage.presigned_read_url(file.blob_key, seconds)

    def chunks(self, file: ReleaseFile) -> Iterator[bytes]:
        """The file's bytes, streamed from storage."""
        return self._storage.iter_chunks(file.blob_key)

    def core_metadata(
        self, tenant_slug: str, secret: str | None, project_name: str, filename: str, *, version: str
    ) -> bytes:
        """The PEP 658 metadata file of a wheel of the project's ``version``."""
        file = self._visible_file(tenant_slug, secret, project_name, filename, version)
        if file.is_mirrored and self._mirror is not None:
            self._mirror.refuse_if_held(file)
            return self._mirror.core_metadata(file)
        if file.metadata_sha256 is None:
            raise NotFound(f"{filename!r} has no separate core metadata")
        return self._storage.read_bytes(metadata_key_for(file.blob_key))

    def release_info(self, page: ProjectPage, version: str) -> ReleaseInfo | None:
        """The stored core metadata of ``version`` (a wheel's when it has one, else an sdist's PKG-INFO), as the
        JSON API shows it; ``None`` for a mirrored release or when no stored metadata can be read."""
        local = [file for file in page.files if file.version == version and file.is_local]
        local.sort(key=lambda file: file.kind is not DistributionKind.WHEEL)
        for file in local:
            try:
                raw = self._storage.read_bytes(metadata_key_for(file.blob_key))
            except DomainError:
                continue
            return release_info_from_metadata(raw)
        return None

    def _visible_file(
        self, tenant_slug: str, secret: str | None, project_name: str, filename: str, version: str
    ) -> ReleaseFile:
        normalized = normalize_project_name(project_name)
        inputs = self._versions.download_inputs(self._access.key_id(secret), tenant_slug, normalized, filename)
        token = self._access.verify(secret, inputs.token)
        tenant = self._access.authorize_found(token, inputs.tenant, TokenScope.READ, normalized)
        return self._file_in(tenant, normalized, filename, version, inputs)

    def _file_in(
        self, tenant: Tenant, normalized: str, filename: str, version: str, inputs: DownloadInputs
    ) -> ReleaseFile:
        """The tenant's ``filename`` of ``normalized``'s ``version`` (as read in ``inputs``), when the tenant may
        download it now. Only a mirrored file needs more reads."""
        file = inputs.file
        if file is None or file.normalized_name != normalized:
            raise NotFound(f"file {filename!r} does not exist in project {normalized!r}")
        if file.is_mirrored:
            project = self._catalogue.get_project(tenant.id, normalized)
            if not file_is_reachable(file, project, mirroring_enabled=tenant.mirroring_enabled):
                raise NotFound(f"file {filename!r} does not exist in project {normalized!r}")
        if not _same_version(file.version, version):
            raise NotFound(
                f"file {filename!r} belongs to version {file.version} of project {normalized!r}, not {version!r}"
            )
        inputs.status.check_download(normalized)
        if file.is_mirrored and self._malware is not None:
            self._malware.refuse_download(normalized, file.version, filename)
        if file.is_mirrored and self._policies is not None:
            self._policies.refuse_download(file)
        return file

    def _mirrored_project(self, tenant: Tenant, normalized: str, recorded: Project | None) -> Project:
        """Local projects never get here: a mirrored page is served only when the tenant mirrors."""
        if not tenant.mirroring_enabled or self._mirror is None:
            raise NotFound(f"project {normalized!r} does not exist in tenant {tenant.slug!r}")
        return self._mirror.project(tenant, normalized, recorded)
