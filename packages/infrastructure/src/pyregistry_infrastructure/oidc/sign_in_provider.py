"""One OpenID Connect provider for admin sign-in: discovery from the issuer, the authorization URL with PKCE, the
code exchange and the ID token check."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog

from pyregistry_application.oidc_sign_in import ProviderIdentity
from pyregistry_application.ports import Clock
from pyregistry_domain.errors import InvalidToken, UpstreamUnavailable
from pyregistry_infrastructure.oidc.jwks import JwksCache
from pyregistry_infrastructure.oidc.signed_tokens import ExpectedIssuer, verified_claims

__all__ = ["OidcProviderClient"]

_log = structlog.get_logger(__name__)
_DISCOVERY_PATH = "/.well-known/openid-configuration"
_REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


class OidcProviderClient:
    """Talks to one provider over HTTP; the discovery document is fetched once and kept."""

    def __init__(
        self,
        *,
        name: str,
        display_name: str,
        issuer: str,
        client_id: str,
        client_secret: str,
        scopes: list[str],
        group_claim: str,
        jwks: JwksCache,
        clock: Clock,
        leeway_seconds: int = 60,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._name = name
        self._display_name = display_name or name
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = scopes
        self._group_claim = group_claim
        self._jwks = jwks
        self._clock = clock
        self._leeway = leeway_seconds
        self._timeout = timeout_seconds
        self._discovered: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def display_name(self) -> str:
        return self._display_name

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str) -> str:
        endpoint = str(self._discovery()["authorization_endpoint"])
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(self._scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def redeem(self, *, code: str, code_verifier: str, redirect_uri: str) -> ProviderIdentity:
        if not code:
            raise InvalidToken("the provider sent no authorization code")
        discovered = self._discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code[:2048],
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            "client_id": self._client_id,
        }
        auth = (self._client_id, self._client_secret) if self._client_secret else None
        try:
            response = httpx.post(str(discovered["token_endpoint"]), data=form, auth=auth, timeout=self._timeout)
        except httpx.HTTPError as exc:
            _log.warning("oidc.token_endpoint_unavailable", provider=self._name, error=type(exc).__name__)
            raise UpstreamUnavailable(f"the sign-in provider {self._name!r} did not answer") from None
        body = _json_object(response)
        if response.status_code != 200:
            error = str(body.get("error") or f"HTTP {response.status_code}")[:100]
            raise InvalidToken(f"the provider refused the authorization code ({error})")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise InvalidToken("the provider sent no ID token")
        expected = ExpectedIssuer(
            issuer=str(discovered["issuer"]), jwks_url=str(discovered["jwks_uri"]), audience=self._client_id
        )
        now = self._clock.now().timestamp()
        claims = verified_claims(id_token, expected, self._jwks, now, self._leeway, require_kid=False)
        groups = claims.get(self._group_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        email, nonce = claims.get("email"), claims.get("nonce")
        return ProviderIdentity(
            subject=str(claims.get("sub") or ""),
            email=email if isinstance(email, str) else None,
            groups=[group for group in groups if isinstance(group, str)] if isinstance(groups, list) else [],
            nonce=nonce if isinstance(nonce, str) else None,
        )

    def _discovery(self) -> dict[str, Any]:
        with self._lock:
            if self._discovered is None:
                self._discovered = self._discover()
            return self._discovered

    def _discover(self) -> dict[str, Any]:
        unavailable = f"the sign-in provider {self._name!r} did not answer its discovery request"
        try:
            response = httpx.get(self._issuer + _DISCOVERY_PATH, timeout=self._timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            _log.warning("oidc.discovery_unavailable", provider=self._name, error=type(exc).__name__)
            raise UpstreamUnavailable(unavailable) from None
        document = _json_object(response)
        if response.status_code != 200 or any(not isinstance(document.get(key), str) for key in _REQUIRED):
            raise UpstreamUnavailable(unavailable)
        if str(document.get("issuer", "")).rstrip("/") != self._issuer:
            raise UpstreamUnavailable(f"the sign-in provider {self._name!r} names another issuer in its discovery")
        return document


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
