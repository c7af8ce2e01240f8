"""The admin UI's use cases, built from the already-wired registry services."""

from __future__ import annotations

from dataclasses import dataclass

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.admin_accounts import AdminAccounts
from pyregistry_application.admin_catalog import AdminCatalog
from pyregistry_application.admin_releases import ReleaseAdministration
from pyregistry_application.login_throttle import LoginThrottle
from pyregistry_application.project_status import ProjectStatusAdministration, ProjectStatusRecorder
from pyregistry_application.security.malware import MalwareBlocklist
from pyregistry_application.services import RegistryServices
from pyregistry_application.tenant_people import TenantPeople

__all__ = ["AdminServices", "build_admin_services", "tenant_people"]


@dataclass(slots=True)
class AdminServices:
    """Login, tenant isolation and roles, read queries, release administration and people for the admin UI."""

    accounts: AdminAccounts
    authorization: AdminAuthorization
    catalog: AdminCatalog
    releases: ReleaseAdministration
    statuses: ProjectStatusAdministration
    people: TenantPeople


def tenant_people(services: RegistryServices) -> TenantPeople:
    """Granting and revoking tenant roles over the registry's ports."""
    return TenantPeople(
        services.metadata.tenants,
        services.metadata.users,
        services.clock,
        services.ids,
        services.hasher,
        services.audit,
    )


def build_admin_services(services: RegistryServices) -> AdminServices:
    """Compose the admin use cases over the registry's ports (the login throttle on the shared limit counters)."""
    if services.admin_sessions is None:
        raise ValueError("the admin UI needs an admin session store (RegistryServices.admin_sessions)")
    if services.limit_counters is None:
        raise ValueError("the admin UI needs limit counters for its login throttle (RegistryServices.limit_counters)")
    authorization = AdminAuthorization(services.metadata.tenants)
    accounts = AdminAccounts(
        services.metadata.users,
        services.hasher,
        services.audit,
        LoginThrottle(services.limit_counters),
        services.admin_sessions,
        services.clock,
    )
    malware = MalwareBlocklist(services.advisories) if services.advisories is not None else None
    recorder = services.statuses or ProjectStatusRecorder(services.metadata.catalogue, services.audit, services.clock)
    return AdminServices(
        accounts=accounts,
        authorization=authorization,
        catalog=AdminCatalog(
            services.metadata.tokens,
            services.metadata.catalogue,
            services.metadata.audit_log,
            services.storage,
            authorization,
            malware,
        ),
        releases=ReleaseAdministration(services.metadata.catalogue, services.storage, authorization, services.audit),
        statuses=ProjectStatusAdministration(services.metadata.catalogue, authorization, recorder),
        people=tenant_people(services),
    )
