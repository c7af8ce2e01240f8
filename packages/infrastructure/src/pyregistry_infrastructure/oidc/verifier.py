"""Verifying CI identity tokens (JWT) with joserfc against the configured issuers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pyregistry_application.ports import Clock
from pyregistry_application.publishing_ports import VerifiedIdentity
from pyregistry_domain.errors import InvalidToken
from pyregistry_domain.publishers import PublisherProvider
from pyregistry_infrastructure.oidc.jwks import JwksCache
from pyregistry_infrastructure.oidc.signed_tokens import (
    ALLOWED_ALGORITHMS,
    ExpectedIssuer,
    numeric_claim,
    split_token,
    verified_claims,
)

__all__ = ["ALLOWED_ALGORITHMS", "DEFAULT_AUDIENCE", "JoseIdentityVerifier", "TrustedIssuer"]

MAX_JTI_LENGTH = 190

DEFAULT_AUDIENCE = "pyregistry"


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """One ``[[oidc_issuers]]`` entry."""

    provider: PublisherProvider
    issuer: str
    jwks_url: str
    audience: str


class JoseIdentityVerifier:
    """Checks algorithm, issuer, key id, signature, audience, exp/nbf/iat (with leeway) and jti presence."""

    def __init__(self, issuers: list[TrustedIssuer], jwks: JwksCache, clock: Clock, leeway_seconds: int = 30) -> None:
        self._issuers = {issuer.issuer: issuer for issuer in issuers}
        self._jwks = jwks
        self._clock = clock
        self._leeway = leeway_seconds

    def audience(self) -> str:
        """The first issuer's audience (all issuers normally share it)."""
        return next(iter(self._issuers.values())).audience if self._issuers else DEFAULT_AUDIENCE

    def issuers(self, provider: PublisherProvider) -> list[str]:
        """The configured issuer URLs of ``provider``."""
        return [issuer.issuer for issuer in self._issuers.values() if issuer.provider is provider]

    def verify(self, token: str) -> VerifiedIdentity:
        """The verified identity, or :class:`InvalidToken` naming the check that failed."""
        if not self._issuers:
            raise InvalidToken("trusted publishing is not configured: no OIDC issuers are trusted")
        token = token.strip()
        header, unverified = split_token(token)
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {alg!r} is not allowed: use one of {', '.join(ALLOWED_ALGORITHMS)}")
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise InvalidToken(f"issuer {unverified.get('iss')!r} is not a trusted OIDC issuer")
        expected = ExpectedIssuer(issuer=issuer.issuer, jwks_url=issuer.jwks_url, audience=issuer.audience)
        claims = verified_claims(token, expected, self._jwks, self._clock.now().timestamp(), self._leeway)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise InvalidToken("the token has no 'jti' claim")
        if len(jti) > MAX_JTI_LENGTH:
            raise InvalidToken(f"the token's 'jti' claim is longer than {MAX_JTI_LENGTH} characters")
        exp = numeric_claim(claims, "exp", required=True) or 0.0
        try:
            expires_at = datetime.fromtimestamp(exp + self._leeway, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidToken("the token's 'exp' claim is out of range") from None
        return VerifiedIdentity(
            provider=issuer.provider, issuer=issuer.issuer, jti=jti, expires_at=expires_at, claims=claims
        )
