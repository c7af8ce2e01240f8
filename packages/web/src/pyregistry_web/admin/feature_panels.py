"""What the mirroring, trusted-publishing and security partials show, computed only when a partial asks."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import msgspec
from litestar.datastructures import State

from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import NotFound
from pyregistry_domain.projects import Project
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_domain.tenants import Tenant

if TYPE_CHECKING:
    from pyregistry_application.mirroring import MirrorProjectStatus, MirrorService, MirrorStatus
    from pyregistry_application.publishing import TrustedPublishing
    from pyregistry_application.scan_ports import ScanResult
    from pyregistry_application.security.services import SecurityServices
    from pyregistry_application.security.vulnerability_model import Advisory, ReleaseVulnerabilities

__all__ = ["FeaturePanels", "PublisherForm", "mirroring_of", "publishing_of", "security_of"]


class PublisherForm(msgspec.Struct, frozen=True, kw_only=True):
    """Values and error of a rejected "add publisher" form, shown again in the form of its provider."""

    provider: str = ""
    repository: str = ""
    workflow: str = ""
    environment: str = ""
    issuer: str = ""
    error: str = ""


def mirroring_of(state: State) -> MirrorService:
    """The mirroring use case, or 404 when this deployment has none."""
    services: RegistryServices = state.services
    if services.mirroring is None:
        raise NotFound("mirroring is not available with this metadata store")
    return services.mirroring


def publishing_of(state: State) -> TrustedPublishing:
    """The trusted-publishing use cases, or 404 when this deployment has none."""
    services: RegistryServices = state.services
    if services.publishing is None:
        raise NotFound("trusted publishing is not available in this deployment")
    return services.publishing


def security_of(state: State) -> SecurityServices:
    """The security use cases, or 404 when this deployment has none."""
    security: SecurityServices | None = state.get("security")
    if security is None:
        raise NotFound("security checks are not available in this deployment")
    return security


class FeaturePanels:
    """Lazily computed data for the feature partials of a tenant's packages page or a project page."""

    def __init__(
        self, state: State, tenant: Tenant, project: Project | None = None, publisher_form: PublisherForm | None = None
    ) -> None:
        self._services: RegistryServices = state.services
        self._security: SecurityServices | None = state.get("security")
        self.tenant = tenant
        self.project = project
        self.publisher_form = publisher_form or PublisherForm()
        self.providers = [provider.value for provider in PublisherProvider]

    @property
    def can_refresh_mirror(self) -> bool:
        """The tenant mirrors and this process can refresh."""
        return self._services.mirroring is not None and self.tenant.mirroring_enabled

    @property
    def project_is_mirrored(self) -> bool:
        """The page's project came from the upstream index."""
        return self.project is not None and self.project.is_mirrored

    @cached_property
    def mirror_status(self) -> MirrorStatus | None:
        """The tenant's mirror state (running, last run, last error, per-project counts)."""
        if self._services.mirroring is None:
            return None
        return self._services.mirroring.status(self.tenant.slug)

    @property
    def mirror_project(self) -> MirrorProjectStatus | None:
        """The page project's row of the mirror status."""
        status = self.mirror_status
        if status is None or self.project is None:
            return None
        return status.project(self.project.normalized_name)

    @property
    def mirror_totals(self) -> tuple[int, int, int]:
        """Mirrored projects, their files and how many of those are cached."""
        status = self.mirror_status
        if status is None:
            return 0, 0, 0
        rows = status.projects
        return len(rows), sum(row.files for row in rows), sum(row.cached_files for row in rows)

    @cached_property
    def quarantined(self) -> dict[str, ScanResult]:
        """The page project's quarantined mirrored files, by filename, with the verdict that blocks them."""
        mirroring = self._services.mirroring
        if mirroring is None or mirroring.gate is None or self.project is None:
            return {}
        files = self._services.metadata.catalogue.list_files(self.tenant.id, self.project.normalized_name)
        return mirroring.gate.quarantined(self.tenant.id, files)

    @cached_property
    def policy_holds(self) -> dict[str, str]:
        """The page project's upstream files the tenant's cooldown holds, by filename, with the reason."""
        policies = self._services.release_policies
        if policies is None or not self.project_is_mirrored or self.project is None:
            return {}
        files = self._services.metadata.catalogue.list_files(self.tenant.id, self.project.normalized_name)
        return policies.screen(self.tenant.id, self.project.normalized_name, files).held

    @cached_property
    def provenance_held(self) -> dict[str, str]:
        """The page project's mirrored files held by provenance continuity, by filename, with the reason."""
        mirroring = self._services.mirroring
        if mirroring is None or mirroring.continuity is None or self.project is None:
            return {}
        files = self._services.metadata.catalogue.list_files(self.tenant.id, self.project.normalized_name)
        return mirroring.continuity.held(self.tenant.id, files)

    @cached_property
    def provenance_held_versions(self) -> set[str]:
        """The versions with at least one held file."""
        if not self.provenance_held or self.project is None:
            return set()
        files = self._services.metadata.catalogue.list_files(self.tenant.id, self.project.normalized_name)
        return {file.version for file in files if file.filename in self.provenance_held}

    @cached_property
    def publishers(self) -> list[TrustedPublisher] | None:
        """The project's trusted publishers (``None`` without trusted publishing or a project)."""
        if self._services.publishing is None or self.project is None:
            return None
        return self._services.publishing.list_publishers(self.tenant.slug, self.project.normalized_name)

    @cached_property
    def publisher_issuers(self) -> dict[str, list[str]]:
        """The configured OIDC issuer URLs per provider, offered in the "add publisher" forms."""
        if self._services.publishing is None:
            return {}
        return {provider.value: self._services.publishing.issuers(provider) for provider in PublisherProvider}

    @cached_property
    def vulnerabilities(self) -> list[ReleaseVulnerabilities] | None:
        """Known advisories per release of the project (``None`` without security services or a project)."""
        if self._security is None or self.project is None:
            return None
        return self._security.release_vulnerabilities.for_project(self.tenant.id, self.project.normalized_name)

    @property
    def advisories_configured(self) -> bool:
        """An advisory database is configured, so "no advisories" means something."""
        return self._security is not None and self._security.release_vulnerabilities.source_configured

    @property
    def vulnerable_releases(self) -> list[ReleaseVulnerabilities]:
        """Only the releases that have advisories."""
        return [release for release in self.vulnerabilities or [] if release.advisories]

    def advisories_for(self, version: str) -> list[Advisory]:
        """Advisories affecting one release of the project."""
        for release in self.vulnerabilities or []:
            if release.version == version:
                return release.advisories
        return []

    @property
    def can_scan(self) -> bool:
        """Stored wheels can be audited."""
        return self._security is not None
