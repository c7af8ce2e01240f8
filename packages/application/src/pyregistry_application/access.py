"""Authenticating API tokens and authorizing them on a tenant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pyregistry_application.metadata_ports import TenantStore, TokenStore
from pyregistry_application.ports import Clock
from pyregistry_domain.errors import Forbidden, InvalidToken, Unauthenticated
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope, parse_token_secret

__all__ = ["AuthorizationListener", "TokenAccess"]

_TOUCH_INTERVAL = timedelta(seconds=60)


class AuthorizationListener(Protocol):
    """Told when a request's token was verified and allowed on its tenant (the rate limit stops charging it)."""

    def token_authorized(self, token: ApiToken) -> None: ...


class TokenAccess:
    """Turns a presented secret into a verified token allowed to act on a tenant."""

    def __init__(
        self, tenants: TenantStore, tokens: TokenStore, clock: Clock, listener: AuthorizationListener | None = None
    ) -> None:
        self._tenants = tenants
        self._tokens = tokens
        self._clock = clock
        self._listener = listener

    @property
    def tenants(self) -> TenantStore:
        """The tenant lookups tokens are authorized against."""
        return self._tenants

    @property
    def tokens(self) -> TokenStore:
        """The token lookups secrets are verified against."""
        return self._tokens

    def authenticate(self, secret: str | None) -> ApiToken:
        """Verify a secret (surrounding whitespace ignored): :class:`Unauthenticated` when missing,
        :class:`InvalidToken` when bad."""
        key_id = self.key_id(secret)
        return self.verify(secret, self._tokens.get_token_by_key_id(key_id))

    @staticmethod
    def key_id(secret: str | None) -> str:
        """The key id of a presented secret: :class:`Unauthenticated` when missing, :class:`InvalidToken` when
        garbled."""
        secret = secret.strip() if secret else None
        if not secret:
            raise Unauthenticated("authentication required: use username '__token__' and an API token")
        return parse_token_secret(secret)

    def verify(self, secret: str | None, token: ApiToken | None) -> ApiToken:
        """``token`` (looked up by the key id of ``secret``) when ``secret`` is its secret and it is active."""
        token, touch_at = self.verify_leaving_touch(secret, token)
        if touch_at is not None:
            self._tokens.touch_token(token.id, touch_at)
        return token

    def verify_leaving_touch(self, secret: str | None, token: ApiToken | None) -> tuple[ApiToken, datetime | None]:
        """As :meth:`verify`, but the caller records the use: with the time to record when it is due (once a
        minute per token), else ``None``."""
        secret = (secret or "").strip()
        if token is None:
            raise InvalidToken("the token is not valid")
        now = self._clock.now()
        token.check_usable(secret, now)
        due = token.last_used_at is None or now - token.last_used_at >= _TOUCH_INTERVAL
        return token, now if due else None

    def authorize(
        self, tenant_slug: str, secret: str | None, scope: TokenScope, normalized_project: str | None = None
    ) -> tuple[Tenant, ApiToken]:
        """Authenticate, then check the token grants ``scope`` on the tenant (and project).

        A token never learns whether another tenant exists: both cases are :class:`Forbidden`.
        """
        token = self.authenticate(secret)
        return self.authorize_token(token, tenant_slug, scope, normalized_project), token

    def authorize_token(
        self, token: ApiToken, tenant_slug: str, scope: TokenScope, normalized_project: str | None = None
    ) -> Tenant:
        """The tenant, when the authenticated ``token`` grants ``scope`` on it (and the project); else
        :class:`Forbidden`."""
        return self.authorize_found(token, self._tenants.get_tenant_by_slug(tenant_slug), scope, normalized_project)

    def authorize_found(
        self, token: ApiToken, tenant: Tenant | None, scope: TokenScope, normalized_project: str | None = None
    ) -> Tenant:
        """Like :meth:`authorize_token` with the requested tenant already looked up (``None``: no such tenant)."""
        if tenant is None or tenant.id != token.tenant_id:
            raise Forbidden("this token belongs to another tenant")
        token.check_allows(scope, tenant.id, normalized_project)
        if self._listener is not None:
            self._listener.token_authorized(token)
        return tenant
