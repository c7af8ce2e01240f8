"""Signing in to the admin UI with OpenID Connect: authorization code flow with PKCE, state and nonce, and tenant
roles taken from the provider's groups at every sign-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import NoReturn, Protocol

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.metadata_ports import TenantStore, UserStore
from pyregistry_application.ports import Clock, IdGenerator
from pyregistry_domain.errors import Forbidden, InvalidToken
from pyregistry_domain.group_roles import GroupRole, roles_from_groups
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.users import User, validate_email

__all__ = [
    "OidcProvider",
    "OidcSignIn",
    "PendingSignIn",
    "ProviderIdentity",
    "SignInRefused",
    "code_challenge",
]

_SSO_ACCOUNT_MARK = "!sso:"
"""Accounts created by a sign-in have no local password: this value never verifies."""


class SignInRefused(Forbidden):
    """A sign-in that did not pass; the message says which check failed."""


class ProviderIdentity(msgspec.Struct, frozen=True):
    """What a verified ID token says about the person."""

    subject: str
    email: str | None
    groups: list[str]
    nonce: str | None


class OidcProvider(Protocol):
    """One configured identity provider."""

    @property
    def name(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str) -> str:
        """Where to send the browser (discovered from the issuer)."""
        ...

    def redeem(self, *, code: str, code_verifier: str, redirect_uri: str) -> ProviderIdentity:
        """Exchange the code and verify the ID token (signature, issuer, audience, expiry); :class:`InvalidToken`
        names the check that failed."""
        ...


class PendingSignIn(msgspec.Struct, frozen=True):
    """What the session keeps between the redirect to the provider and the callback."""

    provider: str
    state: str
    nonce: str
    verifier: str
    next: str


def code_challenge(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcSignIn:
    """Starts and completes sign-ins; every sign-in, refusal and role change lands in the audit trail."""

    def __init__(
        self,
        providers: Sequence[OidcProvider],
        group_roles: Mapping[str, Sequence[GroupRole]],
        tenants: TenantStore,
        users: UserStore,
        clock: Clock,
        ids: IdGenerator,
        audit: AuditTrail,
    ) -> None:
        self._providers = {provider.name: provider for provider in providers}
        self._group_roles = group_roles
        self._tenants = tenants
        self._users = users
        self._clock = clock
        self._ids = ids
        self._audit = audit

    def providers(self) -> list[tuple[str, str]]:
        """``(name, display name)`` of every configured provider."""
        return [(provider.name, provider.display_name) for provider in self._providers.values()]

    def begin(self, name: str, redirect_uri: str, next_path: str) -> tuple[str, PendingSignIn]:
        """The provider's authorization URL and what the session must keep until the callback."""
        provider = self._provider(name)
        pending = PendingSignIn(
            provider=name,
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(48),
            next=next_path,
        )
        url = provider.authorization_url(
            redirect_uri=redirect_uri,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=code_challenge(pending.verifier),
        )
        return url, pending

    def complete(
        self,
        name: str,
        pending: PendingSignIn | None,
        *,
        state: str,
        code: str,
        error: str,
        redirect_uri: str,
        source_ip: str | None,
    ) -> User:
        """Check the callback and the ID token, then bring the person's roles in line with their groups."""
        provider = self._provider(name)
        if pending is None or pending.provider != name:
            self._refuse(name, "anonymous", "no sign-in with this provider was started in this browser", source_ip)
        assert pending is not None
        if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
            self._refuse(name, "anonymous", "the state does not match the sign-in this browser started", source_ip)
        if error:
            self._refuse(name, "anonymous", f"the provider answered {error[:100]!r}", source_ip)
        try:
            identity = provider.redeem(code=code, code_verifier=pending.verifier, redirect_uri=redirect_uri)
        except InvalidToken as exc:
            self._refuse(name, "anonymous", exc.message, source_ip)
        if identity.nonce is None or not hmac.compare_digest(identity.nonce.encode(), pending.nonce.encode()):
            self._refuse(name, identity.subject, "the ID token's nonce does not match this sign-in", source_ip)
        if not identity.email:
            self._refuse(name, identity.subject, "the ID token has no email claim", source_ip)
        email = validate_email(str(identity.email))
        tenants = {tenant.slug: tenant.id for tenant in self._tenants.list_tenants()}
        roles = roles_from_groups(identity.groups, self._group_roles.get(name, ()), tenants)
        user = self._users.get_user_by_email(email)
        if user is None or not user.is_superadmin:
            if not roles:
                if user is not None:
                    self._sync_roles(user, email, roles, name, source_ip)
                self._refuse(name, email, "you are in no group that maps to a tenant role", source_ip)
            user = self._sync_roles(user, email, roles, name, source_ip)
        self._audit.record(
            actor=email,
            action="admin.login.oidc",
            target="admin-ui",
            source_ip=source_ip,
            details={"provider": name, "subject": identity.subject[:200]},
        )
        return user

    def _sync_roles(
        self, user: User | None, email: str, roles: dict[str, TenantRole], name: str, source_ip: str | None
    ) -> User:
        if user is None:
            user = User(
                id=self._ids.new_id(),
                email=email,
                password_hash=_SSO_ACCOUNT_MARK + secrets.token_urlsafe(16),
                is_superadmin=False,
                created_at=self._clock.now(),
            )
            self._users.add_user(user)
        before = dict(user.roles)
        for tenant_id in before.keys() - roles.keys():
            self._users.remove_tenant_role(user.id, tenant_id)
            self._role_event("role.revoke", email, tenant_id, {"role": before[tenant_id].value}, name, source_ip)
        for tenant_id, role in roles.items():
            if before.get(tenant_id) is not role:
                self._users.set_tenant_role(user.id, tenant_id, role)
                previous = before.get(tenant_id)
                details = {"role": role.value, "previous": previous.value if previous else ""}
                self._role_event("role.grant", email, tenant_id, details, name, source_ip)
        synced = self._users.get_user(user.id)
        assert synced is not None
        return synced

    def _role_event(
        self, action: str, email: str, tenant_id: str, details: dict[str, str], name: str, source_ip: str | None
    ) -> None:
        self._audit.record(
            actor=f"oidc:{name}",
            action=action,
            target=f"user:{email}",
            tenant_id=tenant_id,
            source_ip=source_ip,
            details={**details, "source": "groups"},
        )

    def _provider(self, name: str) -> OidcProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise SignInRefused(f"no sign-in provider is called {name[:50]!r}")
        return provider

    def _refuse(self, name: str, actor: str, reason: str, source_ip: str | None) -> NoReturn:
        self._audit.record(
            actor=actor[:320],
            action="admin.login.refused",
            target="admin-ui",
            source_ip=source_ip,
            details={"provider": name, "reason": reason},
        )
        raise SignInRefused(f"sign-in refused: {reason}")
