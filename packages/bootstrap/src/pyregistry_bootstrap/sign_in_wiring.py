"""Admin sign-in with OpenID Connect from ``[[web_ui.oidc_providers]]``."""

from __future__ import annotations

from pyregistry_application.oidc_sign_in import OidcSignIn
from pyregistry_application.services import RegistryServices
from pyregistry_domain.group_roles import GroupRole
from pyregistry_domain.roles import parse_role
from pyregistry_infrastructure.oidc.jwks import JwksCache
from pyregistry_infrastructure.oidc.sign_in_provider import OidcProviderClient
from pyregistry_infrastructure.settings import Settings

__all__ = ["build_sign_in"]


def build_sign_in(settings: Settings, services: RegistryServices) -> OidcSignIn | None:
    """The sign-in use case over every configured provider (``None`` without providers)."""
    configured = settings.web_ui.oidc_providers
    if not configured:
        return None
    jwks = JwksCache()
    providers = [
        OidcProviderClient(
            name=entry.name,
            display_name=entry.display_name,
            issuer=entry.issuer,
            client_id=entry.client_id,
            client_secret=entry.client_secret,
            scopes=entry.scopes,
            group_claim=entry.group_claim,
            jwks=jwks,
            clock=services.clock,
        )
        for entry in configured
    ]
    group_roles = {
        entry.name: [GroupRole(group=m.group, tenant=m.tenant, role=parse_role(m.role)) for m in entry.group_roles]
        for entry in configured
    }
    return OidcSignIn(
        providers,
        group_roles,
        services.metadata.tenants,
        services.metadata.users,
        services.clock,
        services.ids,
        services.audit,
    )
