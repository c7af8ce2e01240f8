"""Wiring of trusted publishing: the issuers from ``[[oidc_issuers]]`` and the publisher/jti stores."""

from __future__ import annotations

from pyregistry_application.publishing import TrustedPublishing
from pyregistry_application.publishing_ports import JtiReplayStore, PublisherStore
from pyregistry_application.services import RegistryServices
from pyregistry_domain.publishers import PublisherProvider
from pyregistry_infrastructure.oidc.jwks import JwksCache
from pyregistry_infrastructure.oidc.verifier import JoseIdentityVerifier, TrustedIssuer
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.stores.memory_publishers import MemoryJtiReplayStore, MemoryPublisherStore
from pyregistry_infrastructure.stores.sqlite_publishers import SqliteJtiReplayStore, SqlitePublisherStore

__all__ = ["build_trusted_publishing"]


def _stores(settings: Settings) -> tuple[PublisherStore, JtiReplayStore]:
    if settings.database_store == "sqlite":
        return SqlitePublisherStore(settings.sqlite.path), SqliteJtiReplayStore(settings.sqlite.path)
    return MemoryPublisherStore(), MemoryJtiReplayStore()


def build_trusted_publishing(settings: Settings, services: RegistryServices) -> TrustedPublishing:
    """The trusted-publishing use cases for the configured issuers (none configured: every mint is refused)."""
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
    publishers, replays = _stores(settings)
    return TrustedPublishing(
        services.store,
        publishers,
        replays,
        verifier,
        services.tokens,
        services.audit,
        services.clock,
        services.ids,
    )
