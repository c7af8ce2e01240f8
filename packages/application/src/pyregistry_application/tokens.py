"""Issuing, listing and revoking API tokens."""

from __future__ import annotations

from datetime import timedelta

from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import IssuedToken
from pyregistry_application.metadata_ports import TenantStore, TokenStore
from pyregistry_application.ports import Clock, IdGenerator
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.names import normalize_project_name, validate_project_name
from pyregistry_domain.tokens import (
    MAX_TOKEN_NAME_LENGTH,
    ApiToken,
    check_token_lifetime,
    generate_token_secret,
    parse_scopes,
)

__all__ = ["TokenIssuer"]


class TokenIssuer:
    """Use cases on API tokens."""

    def __init__(
        self, tenants: TenantStore, tokens: TokenStore, clock: Clock, ids: IdGenerator, audit: AuditTrail
    ) -> None:
        self._tenants = tenants
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._audit = audit

    def issue(
        self,
        *,
        tenant_slug: str,
        name: str,
        scopes: list[str],
        project: str | None = None,
        expires_in: timedelta | None = None,
        actor: str,
        source_ip: str | None = None,
        minted_by_publisher: str | None = None,
    ) -> IssuedToken:
        """Create a token and return its secret, which is never stored nor shown again."""
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        name = name.strip()
        if not name or len(name) > MAX_TOKEN_NAME_LENGTH:
            raise ValidationFailed(f"token name must be 1-{MAX_TOKEN_NAME_LENGTH} characters")
        parsed_scopes = parse_scopes(scopes)
        normalized_project = normalize_project_name(validate_project_name(project)) if project else None
        if expires_in is not None:
            check_token_lifetime(expires_in)
        now = self._clock.now()
        generated = generate_token_secret()
        token = ApiToken(
            id=self._ids.new_id(),
            key_id=generated.key_id,
            secret_hash=generated.secret_hash,
            tenant_id=tenant.id,
            name=name,
            scopes=parsed_scopes,
            created_at=now,
            created_by=actor,
            project=normalized_project,
            expires_at=now + expires_in if expires_in is not None else None,
            minted_by_publisher=minted_by_publisher,
        )
        self._tokens.add_token(token)
        self._audit.record(
            actor=actor,
            action="token.issue",
            target=f"token:{token.name}",
            tenant_id=tenant.id,
            source_ip=source_ip,
            details={
                "token_id": token.id,
                "scopes": ",".join(sorted(scope.value for scope in parsed_scopes)),
                "project": normalized_project or "*",
            },
        )
        return IssuedToken(
            id=token.id,
            secret=generated.secret,
            tenant_slug=tenant.slug,
            name=token.name,
            scopes=sorted(scope.value for scope in parsed_scopes),
            project=normalized_project,
            expires_at=token.expires_at,
        )

    def list(self, tenant_slug: str) -> list[ApiToken]:
        """A tenant's tokens, newest first."""
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        return sorted(self._tokens.list_tokens(tenant.id), key=lambda token: token.created_at, reverse=True)

    def revoke(self, tenant_slug: str, token_id: str, *, actor: str, source_ip: str | None = None) -> None:
        """Revoke a token of that tenant."""
        tenant = self._tenants.get_tenant_by_slug(tenant_slug)
        if tenant is None:
            raise NotFound(f"tenant {tenant_slug!r} does not exist")
        if not self._tokens.revoke_token(tenant.id, token_id, self._clock.now()):
            raise NotFound(f"token {token_id!r} does not exist in tenant {tenant_slug!r}")
        self._audit.record(
            actor=actor,
            action="token.revoke",
            target=f"token:{token_id}",
            tenant_id=tenant.id,
            source_ip=source_ip,
        )
