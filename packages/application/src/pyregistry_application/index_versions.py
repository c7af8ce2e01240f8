"""Cheap version stamps of index pages, so rendered pages can be reused until the data behind them changes."""

from __future__ import annotations

from typing import Protocol

import msgspec

from pyregistry_application.metadata_ports import CatalogueReader

__all__ = ["IndexVersions", "PageStamp", "StoreIndexVersions"]


class PageStamp(msgspec.Struct, frozen=True):
    """Who may see a page and which version of it is current.

    ``version`` is ``None`` when the page must not be reused (for example a mirrored page that refreshes
    from upstream on its own schedule); otherwise it changes whenever the page's content changes.
    """

    tenant_id: str
    version: str | None


class IndexVersions(Protocol):
    """Reads the few numbers that identify the current content of a root index or a project page."""

    def listing_version(self, tenant_id: str) -> str:
        """Changes whenever a project of the tenant is added, changed or removed."""
        ...

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's ``(serial, origin)``, or ``None`` when the tenant has no such project."""
        ...


class StoreIndexVersions:
    """Computes the stamps from any :class:`CatalogueReader` (backends without a cheaper query of their own)."""

    def __init__(self, store: CatalogueReader) -> None:
        self._store = store

    def listing_version(self, tenant_id: str) -> str:
        """Project count and highest serial: serials only grow, so the pair never repeats for other content."""
        serials = [project.serial for project in self._store.list_projects(tenant_id)]
        return f"{len(serials)}-{max(serials, default=0)}"

    def project_serial(self, tenant_id: str, normalized_name: str) -> tuple[int, str] | None:
        """The project's serial and origin."""
        project = self._store.get_project(tenant_id, normalized_name)
        return None if project is None else (project.serial, project.origin)
