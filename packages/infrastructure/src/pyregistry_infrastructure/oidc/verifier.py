"""Verifying CI identity tokens (JWT) with joserfc against the configured issuers."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from pyregistry_application.client_json import decode_client_json
from pyregistry_application.ports import Clock
from pyregistry_application.publishing_ports import VerifiedIdentity
from pyregistry_domain.errors import InvalidToken, ValidationFailed
from pyregistry_domain.publishers import PublisherProvider
from pyregistry_infrastructure.oidc.jwks import JwksCache

__all__ = ["ALLOWED_ALGORITHMS", "DEFAULT_AUDIENCE", "JoseIdentityVerifier", "TrustedIssuer"]

MAX_JTI_LENGTH = 190

ALLOWED_ALGORITHMS = ("RS256", "ES256")
DEFAULT_AUDIENCE = "pyregistry"
MAX_TOKEN_CHARS = 16 * 1024


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """One ``[[oidc_issuers]]`` entry."""

    provider: PublisherProvider
    issuer: str
    jwks_url: str
    audience: str


def _segment(part: str, what: str) -> dict[str, Any]:
    try:
        decoded = decode_client_json(
            base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)),
            object,
            what=f"malformed token: the {what}",
            invalid=f"malformed token: the {what} is not base64url JSON",
            max_bytes=MAX_TOKEN_CHARS,
        )
    except ValueError:
        raise InvalidToken(f"malformed token: the {what} is not base64url JSON") from None
    except ValidationFailed as exc:
        raise InvalidToken(exc.message) from None
    if not isinstance(decoded, dict):
        raise InvalidToken(f"malformed token: the {what} is not a JSON object")
    return decoded


def _numeric(claims: dict[str, Any], name: str, required: bool) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidToken(f"the token has no {name!r} claim")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"the {name!r} claim is not a number")
    try:
        return float(value)
    except OverflowError:
        raise InvalidToken(f"the {name!r} claim is out of range") from None


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
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("malformed token: too long")
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("malformed token: expected a signed JWT (three dot-separated parts)")
        header = _segment(parts[0], "header")
        unverified = _segment(parts[1], "payload")
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {alg!r} is not allowed: use one of {', '.join(ALLOWED_ALGORITHMS)}")
        issuer = self._issuers.get(str(unverified.get("iss")))
        if issuer is None:
            raise InvalidToken(f"issuer {unverified.get('iss')!r} is not a trusted OIDC issuer")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token header has no 'kid'")
        keys = self._jwks.key_set_for(issuer.jwks_url, kid)
        if keys is None:
            raise InvalidToken(f"unknown signing key: kid {kid!r} is not in the issuer's JWKS")
        try:
            claims = dict(jwt.decode(token, keys, algorithms=[alg]).claims)
        except JoseError:
            raise InvalidToken("signature verification failed") from None
        self._check_claims(claims, issuer)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise InvalidToken("the token has no 'jti' claim")
        if len(jti) > MAX_JTI_LENGTH:
            raise InvalidToken(f"the token's 'jti' claim is longer than {MAX_JTI_LENGTH} characters")
        exp = _numeric(claims, "exp", required=True) or 0.0
        try:
            expires_at = datetime.fromtimestamp(exp + self._leeway, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidToken("the token's 'exp' claim is out of range") from None
        return VerifiedIdentity(
            provider=issuer.provider, issuer=issuer.issuer, jti=jti, expires_at=expires_at, claims=claims
        )

    def _check_claims(self, claims: dict[str, Any], issuer: TrustedIssuer) -> None:
        if claims.get("iss") != issuer.issuer:
            raise InvalidToken("issuer mismatch")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if issuer.audience not in audiences:
            raise InvalidToken(f"wrong audience: the token must be requested for audience {issuer.audience!r}")
        now = self._clock.now().timestamp()
        exp = _numeric(claims, "exp", required=True)
        if exp is not None and now > exp + self._leeway:
            raise InvalidToken("the token has expired (exp)")
        nbf = _numeric(claims, "nbf", required=False)
        if nbf is not None and now + self._leeway < nbf:
            raise InvalidToken("the token is not valid yet (nbf)")
        iat = _numeric(claims, "iat", required=True)
        if iat is not None and now + self._leeway < iat:
            raise InvalidToken("the token was issued in the future (iat)")
