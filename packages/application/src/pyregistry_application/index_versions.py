"""Cheap version stamps of index pages, so rendered pages can be reused until the data behind them changes."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol

import msgspec

from pyregistry_application.metadata_ports import CatalogueReader, TenantStore, TokenStore
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ACTIVE, ProjectStatus
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken

__all__ = [
    "AwaitedStampReads",
    "DownloadInputs",
    "IndexChanges",
    "IndexVersions",
    "InlineStampReads",
    "PageStamp",
    "StampInputs",
    "StoreIndexVersions",
]


class PageStamp(msgspec.Struct, frozen=True):
    """Who may see a page and which version of it is current.

    ``version`` is ``None`` when the page must not be reused (for example a mirrored page that refreshes
    from upstream on its own schedule); otherwise it changes whenever the page's content changes.
    """

    tenant_id: str
    version: str | None


class StampInputs(msgspec.Struct, frozen=True):
    """Everything a cached page's request needs from the database, read together.

    ``token`` is the token with the presented key id (``None``: no such token); ``tenant`` the tenant with the
    requested slug when it is that token's tenant (``None`` otherwise, which the caller refuses alike);
    ``listing_version`` and ``project`` as :meth:`IndexVersions.listing_version` and
    :meth:`IndexVersions.project_serial` return them for that tenant.
    """

    token: ApiToken | None
    tenant: Tenant | None
    listing_version: str
    project: tuple[int, str] | None


class DownloadInputs(msgspec.Struct, frozen=True):
    """Everything a download's request needs from the database, read together.

    ``token`` and ``tenant`` as in :class:`StampInputs`; ``file`` the tenant's file with the requested filename
    (``None``: no such file, or no tenant); ``status`` the requested project's status in that tenant (active when
    none is recorded, or when there is no tenant).
    """

    token: ApiToken | None
    tenant: Tenant | None
    file: ReleaseFile | None
    status: ProjectStatus


class IndexChanges(msgspec.Struct, frozen=True):
    """What changed after a serial: the tenants whose root index changed and the projects (``(tenant id,
    normalized name)``) whose page changed; ``serial`` is where the next look starts."""

    serial: int
    listings: list[str] = msgspec.field(default_factory=list)
    projects: list[tuple[str, str]] = msgspec.field(default_factory=list)


class IndexVersions(Protocol):
    """Reads the few numbers that identify the current content of a root index or a project page."""

    def listing_version(self, tenant_id: str) -> str:
        """Changes whenever what the tenant's root index shows changes: a project added, renamed, taken over
        (local or mirrored) or removed; not with a project's other changes (uploads, yanks, statuses)."""
        ...

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's ``(serial, origin)``, or ``None`` when the tenant has no such project."""
        ...

    def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """The token, its tenant and the versions of that tenant's root index and project, read at once (one
        database round trip where the store allows it); ``normalized_name`` ``None`` for the root index."""
        ...

    def download_inputs(self, key_id: str, tenant_slug: str, normalized_name: str, filename: str) -> DownloadInputs:
        """The token, its tenant, the tenant's file named ``filename`` and the status of ``normalized_name``, read
        at once (one database round trip where the store allows it)."""
        ...

    def changes_since(self, serial: int | None) -> IndexChanges:
        """Pages changed by writes after ``serial`` (by any process sharing the store); ``None``: nothing yet,
        only the current serial to start from. A removed project's page is not listed (it has no page)."""
        ...


class AwaitedStampReads(Protocol):
    """The one read every cached page's (or local file's) request makes, awaited on the server's event loop (no
    thread hand-off where the backend allows it)."""

    async def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """As :meth:`IndexVersions.stamp_inputs`."""
        ...

    async def download_inputs(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
        """As :meth:`IndexVersions.download_inputs`."""
        ...

    async def touch_token(self, token_id: str, when: datetime) -> None:
        """As :meth:`TokenStore.touch_token` (a write: it must not hold up the event loop)."""
        ...

    async def aclose(self) -> None:
        """Release what the running event loop holds (called when the server stops)."""
        ...


class InlineStampReads:
    """``AwaitedStampReads`` over in-process ports whose calls never wait (the memory store): called directly."""

    def __init__(self, versions: IndexVersions, tokens: TokenStore) -> None:
        self._versions = versions
        self._tokens = tokens

    async def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """The versions port's answer."""
        return self._versions.stamp_inputs(key_id, tenant_slug, normalized_name)

    async def download_inputs(
        self, key_id: str, tenant_slug: str, normalized_name: str, filename: str
    ) -> DownloadInputs:
        """The versions port's answer."""
        return self._versions.download_inputs(key_id, tenant_slug, normalized_name, filename)

    async def touch_token(self, token_id: str, when: datetime) -> None:
        """The token port's write."""
        self._tokens.touch_token(token_id, when)

    async def aclose(self) -> None:
        """Nothing is held."""


class StoreIndexVersions:
    """Computes the stamps from a backend's tenant, token and catalogue ports (no cheaper query of its own)."""

    def __init__(self, tenants: TenantStore, tokens: TokenStore, catalogue: CatalogueReader) -> None:
        self._tenants = tenants
        self._tokens = tokens
        self._catalogue = catalogue

    def listing_version(self, tenant_id: str) -> str:
        """A digest of every project's normalized name, name and origin: what the root index shows."""
        names = "\n".join(
            f"{project.normalized_name}\t{project.name}\t{project.origin}"
            for project in sorted(self._catalogue.list_projects(tenant_id), key=lambda found: found.normalized_name)
        )
        return hashlib.blake2b(names.encode(), digest_size=12).hexdigest()

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's serial and origin."""
        project = self._catalogue.get_project(tenant_id, normalized_name)
        return None if project is None else (project.serial, project.origin)

    def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        """Read through the store's own lookups, one after the other."""
        token = self._tokens.get_token_by_key_id(key_id)
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if token is None or tenant is None or tenant.id != token.tenant_id:
            return StampInputs(token=token, tenant=None, listing_version="0", project=None)
        project = None if normalized_name is None else self.project_serial(tenant.id, normalized_name)
        listing = self.listing_version(tenant.id) if normalized_name is None else "0"
        return StampInputs(token=token, tenant=tenant, listing_version=listing, project=project)

    def download_inputs(self, key_id: str, tenant_slug: str, normalized_name: str, filename: str) -> DownloadInputs:
        """Read through the store's own lookups, one after the other."""
        token = self._tokens.get_token_by_key_id(key_id)
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if token is None or tenant is None or tenant.id != token.tenant_id:
            return DownloadInputs(token=token, tenant=None, file=None, status=ACTIVE)
        return DownloadInputs(
            token=token,
            tenant=tenant,
            file=self._catalogue.get_file(tenant.id, filename),
            status=self._catalogue.get_project_status(tenant.id, normalized_name),
        )

    def changes_since(self, serial: int | None) -> IndexChanges:
        """Scans every tenant's projects (the memory store keeps no change log; it is never shared)."""
        projects = [
            (tenant.id, project.normalized_name, project.serial)
            for tenant in self._tenants.list_tenants()
            for project in self._catalogue.list_projects(tenant.id)
        ]
        top = max((found[2] for found in projects), default=0)
        if serial is None:
            return IndexChanges(serial=top)
        changed = [(tenant_id, name) for tenant_id, name, found in projects if found > serial]
        return IndexChanges(
            serial=max(top, serial),
            listings=sorted({tenant_id for tenant_id, _ in changed}),
            projects=changed,
        )
