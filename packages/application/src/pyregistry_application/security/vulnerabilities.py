"""Vulnerability use cases: per-release summaries and the registry-wide check."""

from __future__ import annotations

from collections import defaultdict

from pyregistry_application.metadata_ports import CatalogueReader, TenantStore
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.security.notifications import VulnerabilityAlerts
from pyregistry_application.security.ports import VulnerabilityChecker, VulnerabilitySource
from pyregistry_application.security.vulnerability_model import (
    MalwareMatch,
    PackageVersion,
    ReleaseVulnerabilities,
    VulnerabilityCheckResult,
)
from pyregistry_domain.errors import NotFound
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.tenants import Tenant

__all__ = ["CheckRegistry", "ReleaseVulnerabilitySummary"]


class ReleaseVulnerabilitySummary:
    """Known advisories per release of one project, with the versions that fix them (package page)."""

    def __init__(self, tenants: TenantStore, catalogue: CatalogueReader, source: VulnerabilitySource) -> None:
        self._tenants = tenants
        self._catalogue = catalogue
        self._source = source

    @property
    def source_configured(self) -> bool:
        """Whether an advisory source is configured at all (without one every release looks clean)."""
        return self._source.configured

    def for_project(self, tenant_id: str, project: str) -> list[ReleaseVulnerabilities]:
        """One entry per stored release, newest upload first; releases without advisories have an empty list."""
        normalized = normalize_project_name(project)
        if self._catalogue.get_project(tenant_id, normalized) is None:
            raise NotFound(f"project {project!r} not found")
        releases = sorted(
            self._catalogue.list_releases(tenant_id, normalized), key=lambda r: r.created_at, reverse=True
        )
        summaries = []
        for release in releases:
            advisories = self._source.query(normalized, release.version)
            fixed = {version for advisory in advisories for version in advisory.fixed_versions}
            summaries.append(
                ReleaseVulnerabilities(version=release.version, advisories=advisories, fixed_versions=sorted(fixed))
            )
        return summaries


class CheckRegistry:
    """Checks every stored version for known vulnerabilities and alerts once per vulnerable package."""

    def __init__(
        self,
        tenants: TenantStore,
        catalogue: CatalogueReader,
        alerts: VulnerabilityAlerts | None = None,
        malware: MalwareBlocklist | None = None,
    ) -> None:
        self._tenant_store = tenants
        self._catalogue = catalogue
        self._alerts = alerts
        self._malware = malware

    def _tenants(self, tenant_slug: str | None) -> list[Tenant]:
        tenants = self._tenant_store.list_tenants()
        if tenant_slug is not None:
            tenants = [t for t in tenants if t.slug == tenant_slug]
            if not tenants:
                raise NotFound(f"tenant {tenant_slug!r} not found")
        return tenants

    def stored_versions(self, tenant_slug: str | None = None) -> list[PackageVersion]:
        """Every (tenant, project, version) held locally."""
        versions: list[PackageVersion] = []
        for tenant in self._tenants(tenant_slug):
            for project in self._catalogue.list_projects(tenant.id):
                if project.is_mirrored:
                    continue
                versions.extend(
                    PackageVersion(tenant.slug, project.normalized_name, release.version)
                    for release in self._catalogue.list_releases(tenant.id, project.normalized_name)
                )
        return versions

    def execute(self, checker: VulnerabilityChecker, tenant_slug: str | None = None) -> VulnerabilityCheckResult:
        """Run ``checker`` over the stored versions and send one alert per vulnerable package."""
        versions = self.stored_versions(tenant_slug)
        found = checker.check(versions) if versions else []
        found.sort(key=lambda v: (v.tenant_slug, v.project, v.version, v.advisory_id))
        if self._alerts is not None:
            grouped = defaultdict(list)
            for vulnerability in found:
                grouped[(vulnerability.tenant_slug, vulnerability.project)].append(vulnerability)
            for items in grouped.values():
                self._alerts.vulnerable_package(items)
        return VulnerabilityCheckResult(
            checked=len(versions), vulnerabilities=found, source=checker.name, malware=self.malware_matches(tenant_slug)
        )

    def malware_matches(self, tenant_slug: str | None = None) -> list[MalwareMatch]:
        """Known-malware versions held: every local release, and mirrored versions with a cached file."""
        if self._malware is None:
            return []
        matches: list[MalwareMatch] = []
        for tenant in self._tenants(tenant_slug):
            for project in self._catalogue.list_projects(tenant.id):
                name = project.normalized_name
                if project.is_local:
                    held = {release.version for release in self._catalogue.list_releases(tenant.id, name)}
                else:
                    held = {file.version for file in self._catalogue.list_files(tenant.id, name) if file.cached}
                for version in sorted(held):
                    advisory = self._malware.blocking(name, version)
                    if advisory is not None:
                        matches.append(
                            MalwareMatch(
                                tenant_slug=tenant.slug,
                                project=name,
                                version=version,
                                origin=project.origin,
                                advisory_id=advisory.id,
                                summary=advisory.summary,
                            )
                        )
        return matches
