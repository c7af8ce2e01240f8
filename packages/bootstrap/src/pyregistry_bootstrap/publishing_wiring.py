"""Wiring of trusted publishing: the issuers from ``[[oidc_issuers]]`` and the publisher/jti stores."""

from __future__ import annotations

import structlog

from pyregistry_application.publishing import TrustedPublishing
from pyregistry_application.services import RegistryServices
from pyregistry_domain.publishers import PublisherProvider
from pyregistry_infrastructure.oidc.jwks import JwksCache
from pyregistry_infrastructure.oidc.verifier import JoseIdentityVerifier, TrustedIssuer
from pyregistry_infrastructure.settings import Settings

__all__ = ["build_trusted_publishing"]

_log = structlog.get_logger(__name__)


def build_trusted_publishing(settings: Settings, services: RegistryServices) -> TrustedPublishing:
    """The trusted-publishing use cases for the configured issuers (none configured: every mint is refused).

    Publishers registered before issuers were recorded get their provider's issuer when only one is configured.
    """
    issuers = [
        TrustedIssuer(
            provider=PublisherProvider(entry.provider),
            issuer=entry.issuer,
            jwks_url=entry.jwks_url,
            audience=entry.audience,
        )
        for entry in settings.oidc_issuers
    ]
    verifier = JoseIdentityVerifier(issuers, JwksCache(), services.clock)
    publishing = TrustedPublishing(
        services.metadata.tenants,
        services.metadata.publishers,
        services.metadata.jti_replays,
        verifier,
        services.tokens,
        services.audit,
        services.clock,
        services.ids,
    )
    for provider, count in publishing.bind_unbound_publishers().items():
        if count:
            _log.info("oidc.publishers_bound_to_issuer", provider=provider.value, count=count)
    return publishing
