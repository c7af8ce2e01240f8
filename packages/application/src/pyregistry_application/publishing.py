"""Trusted publishing: registering CI publishers and exchanging their OIDC identity tokens for upload tokens."""

from __future__ import annotations

import json
from datetime import timedelta

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import TenantStore
from pyregistry_application.ports import Clock, IdGenerator
from pyregistry_application.publishing_ports import IdentityTokenVerifier, JtiReplayStore, PublisherStore
from pyregistry_application.tokens import TokenIssuer
from pyregistry_domain.errors import Forbidden, InvalidToken, NotFound, ValidationFailed
from pyregistry_domain.names import normalize_project_name, validate_project_name
from pyregistry_domain.publishers import (
    PublisherProvider,
    TrustedPublisher,
    claim_details,
    validate_publisher_fields,
)
from pyregistry_domain.tenants import Tenant

__all__ = ["MINTED_TOKEN_LIFETIME", "MintedToken", "TrustedPublishing"]

MINTED_TOKEN_LIFETIME = timedelta(minutes=15)


class MintedToken(msgspec.Struct, frozen=True):
    """The answer of ``POST /_/oidc/mint-token``."""

    success: bool
    token: str
    expires: int


class TrustedPublishing:
    """Use cases behind the CLI, the admin UI and the OIDC endpoints."""

    def __init__(
        self,
        tenants: TenantStore,
        publishers: PublisherStore,
        replays: JtiReplayStore,
        verifier: IdentityTokenVerifier,
        tokens: TokenIssuer,
        audit: AuditTrail,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._tenants = tenants
        self._publishers = publishers
        self._replays = replays
        self._verifier = verifier
        self._tokens = tokens
        self._audit = audit
        self._clock = clock
        self._ids = ids

    def _tenant(self, tenant_slug: str) -> Tenant:
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        return tenant

    def add_publisher(
        self,
        *,
        tenant_slug: str,
        project: str,
        provider: str,
        repository: str,
        workflow: str,
        environment: str | None = None,
        issuer: str | None = None,
        actor: str,
        source_ip: str | None = None,
    ) -> TrustedPublisher:
        """Register a publisher for a project (the project need not exist yet).

        ``issuer`` must be one of the provider's configured issuers; it may be left out when exactly one is.
        """
        tenant = self._tenant(tenant_slug)
        normalized = normalize_project_name(validate_project_name(project.strip()))
        kind, repository, workflow, environment = validate_publisher_fields(provider, repository, workflow, environment)
        publisher = TrustedPublisher(
            id=self._ids.new_id(),
            tenant_id=tenant.id,
            project=normalized,
            provider=kind,
            issuer=self._issuer_for(kind, issuer),
            repository=repository,
            workflow=workflow,
            environment=environment,
            created_at=self._clock.now(),
            created_by=actor,
        )
        self._publishers.add_publisher(publisher)
        self._audit.record(
            actor=actor,
            action="publisher.add",
            target=f"{normalized}:{publisher.identity}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={"publisher_id": publisher.id, "issuer": publisher.issuer},
        )
        return publisher

    def issuers(self, provider: PublisherProvider) -> list[str]:
        """The configured issuer URLs a publisher of ``provider`` may trust."""
        return self._verifier.issuers(provider)

    def _issuer_for(self, provider: PublisherProvider, issuer: str | None) -> str:
        configured = self._verifier.issuers(provider)
        wanted = (issuer or "").strip()
        if wanted:
            if wanted not in configured:
                known = f"configured: {', '.join(configured)}" if configured else "none is configured"
                raise ValidationFailed(f"issuer {wanted!r} is not a configured {provider.value} OIDC issuer ({known})")
            return wanted
        if len(configured) == 1:
            return configured[0]
        if not configured:
            raise ValidationFailed(
                f"no {provider.value} OIDC issuer is configured: add an [[oidc_issuers]] entry (or OIDC_ISSUERS) first"
            )
        raise ValidationFailed(
            f"{len(configured)} {provider.value} OIDC issuers are configured; name the issuer this publisher's "
            f"tokens come from (one of: {', '.join(configured)})"
        )

    def bind_unbound_publishers(self) -> dict[PublisherProvider, int]:
        """Give publishers registered before issuers were recorded the provider's issuer, when only one is configured.

        With several issuers of a provider they stay unbound (and match no token) until registered again.
        """
        bound = {}
        for provider in PublisherProvider:
            configured = self._verifier.issuers(provider)
            if len(configured) == 1:
                bound[provider] = self._publishers.bind_unbound_publishers(provider, configured[0])
        return bound

    def list_publishers(self, tenant_slug: str, project: str | None = None) -> list[TrustedPublisher]:
        """A tenant's publishers (optionally of one project), by project then identity."""
        tenant = self._tenant(tenant_slug)
        wanted = normalize_project_name(project) if project else None
        found = [p for p in self._publishers.list_publishers(tenant.id) if wanted is None or p.project == wanted]
        return sorted(found, key=lambda p: (p.project, p.identity))

    def remove_publisher(
        self, tenant_slug: str, publisher_id: str, *, actor: str, source_ip: str | None = None
    ) -> None:
        """Unregister a publisher; tokens it minted expire on their own within 15 minutes."""
        tenant = self._tenant(tenant_slug)
        if not self._publishers.remove_publisher(tenant.id, publisher_id):
            raise NotFound(f"publisher {publisher_id!r} does not exist in tenant {tenant_slug!r}")
        self._audit.record(
            actor=actor,
            action="publisher.remove",
            target=f"publisher:{publisher_id}",
            tenant_id=tenant.id,
            source_ip=source_ip,
        )

    def audience(self) -> str:
        """The audience CI jobs must request for their identity token."""
        return self._verifier.audience()

    def mint(self, identity_token: str, *, source_ip: str | None = None) -> MintedToken:
        """Verify the identity token, match exactly one publisher, and issue a 15-minute publish token."""
        verified = self._verifier.verify(identity_token)
        candidates = self._publishers.publishers_for_provider(verified.provider)
        matches = [p for p in candidates if p.mismatch(verified.issuer, verified.claims) is None]
        if not matches:
            differing = sorted({r for p in candidates if (r := p.mismatch(verified.issuer, verified.claims))})
            hint = f" (claims that differ: {', '.join(differing)})" if differing else ""
            raise Forbidden(f"no trusted publisher matches the token's claims{hint}")
        if len(matches) > 1:
            raise Forbidden(f"the token's claims match {len(matches)} trusted publishers; exactly one is required")
        publisher = matches[0]
        now = self._clock.now()
        if not self._replays.claim(verified.issuer, verified.jti, verified.expires_at, now):
            raise InvalidToken("replayed token: this jti was already exchanged")
        tenant = self._tenants.get_tenant(publisher.tenant_id)
        if tenant is None:
            raise NotFound("the publisher's tenant no longer exists")
        actor = f"publisher:{publisher.identity}"
        claims = publisher.matched_claims(verified.claims)
        issued = self._tokens.issue(
            tenant_slug=tenant.slug,
            name=f"oidc {publisher.identity}"[:100],
            scopes=["publish"],
            project=publisher.project,
            expires_in=MINTED_TOKEN_LIFETIME,
            actor=actor,
            source_ip=source_ip,
            minted_by_publisher=json.dumps(publisher.descriptor(claims), sort_keys=True),
        )
        self._audit.record(
            actor=actor,
            action="oidc.mint",
            target=f"{publisher.project}:{publisher.identity}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={
                "publisher_id": publisher.id,
                "issuer": verified.issuer,
                "minted_id": issued.id,
                **claim_details(claims),
            },
        )
        expires = issued.expires_at or now + MINTED_TOKEN_LIFETIME
        return MintedToken(success=True, token=issued.secret, expires=int(expires.timestamp()))
