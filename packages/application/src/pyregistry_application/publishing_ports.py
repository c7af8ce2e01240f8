"""Ports of trusted publishing: verifying OIDC identity tokens, storing publishers, remembering used jti values."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec

from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher

__all__ = ["IdentityTokenVerifier", "JtiReplayStore", "PublisherStore", "VerifiedIdentity"]


class VerifiedIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """An identity token whose signature, issuer, audience and time claims were checked."""

    provider: PublisherProvider
    issuer: str
    jti: str
    expires_at: datetime
    claims: dict[str, object]


class IdentityTokenVerifier(Protocol):
    """Checks a JWT against the configured issuers' JWKS; raises ``InvalidToken`` naming the failed check."""

    def audience(self) -> str:
        """The ``aud`` value CI jobs must request."""
        ...

    def issuers(self, provider: PublisherProvider) -> list[str]:
        """The configured issuer URLs of ``provider``, in configuration order."""
        ...

    def verify(self, token: str) -> VerifiedIdentity: ...


class PublisherStore(Protocol):
    """Trusted publishers per tenant and project.

    A publisher is unique per tenant, project, provider, repository, workflow and environment: the issuer is not
    part of that key, so one workflow path is trusted from one issuer per project.
    """

    def add_publisher(self, publisher: TrustedPublisher) -> None:
        """Raises ``AlreadyExists`` when the same publisher is registered for the project."""
        ...

    def list_publishers(self, tenant_id: str) -> list[TrustedPublisher]: ...
    def publishers_for_provider(self, provider: PublisherProvider) -> list[TrustedPublisher]: ...
    def remove_publisher(self, tenant_id: str, publisher_id: str) -> bool: ...

    def bind_unbound_publishers(self, provider: PublisherProvider, issuer: str) -> int:
        """Record ``issuer`` on the provider's publishers that have none (registered before issuers were); count."""
        ...


class JtiReplayStore(Protocol):
    """Remembers identity-token ids until they expire."""

    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record the jti; ``False`` when it was already used and has not expired yet."""
        ...
