"""Verifying a signed JWT from one OIDC issuer with joserfc: algorithm, key id, signature, issuer, audience and
the time claims. Shared by trusted publishing (CI tokens) and admin sign-in (ID tokens)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from pyregistry_application.client_json import decode_client_json
from pyregistry_domain.errors import InvalidToken, ValidationFailed
from pyregistry_infrastructure.oidc.jwks import JwksCache

__all__ = ["ALLOWED_ALGORITHMS", "MAX_TOKEN_CHARS", "ExpectedIssuer", "numeric_claim", "split_token", "verified_claims"]

ALLOWED_ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_CHARS = 16 * 1024


@dataclass(frozen=True, slots=True)
class ExpectedIssuer:
    """Whose token it must be and for whom."""

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


def split_token(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The unverified header and payload of a compact JWS, or :class:`InvalidToken`."""
    if len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("malformed token: too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("malformed token: expected a signed JWT (three dot-separated parts)")
    return _segment(parts[0], "header"), _segment(parts[1], "payload")


def numeric_claim(claims: dict[str, Any], name: str, required: bool) -> float | None:
    """A numeric claim (``None`` when absent and optional), or :class:`InvalidToken`."""
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


def verified_claims(
    token: str, expected: ExpectedIssuer, jwks: JwksCache, now: float, leeway: int, *, require_kid: bool = True
) -> dict[str, Any]:
    """The claims of ``token`` once its signature (a key of the issuer's JWKS), issuer, audience, ``exp``, ``nbf``
    and ``iat`` (with ``leeway`` seconds) check out; :class:`InvalidToken` names the check that failed. Without
    ``require_kid`` a token may omit ``kid`` when the issuer publishes a single key (OpenID Connect allows it)."""
    header, _ = split_token(token)
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise InvalidToken(f"algorithm {alg!r} is not allowed: use one of {', '.join(ALLOWED_ALGORITHMS)}")
    kid = header.get("kid")
    if kid is None and not require_kid:
        keys: KeySet | None = jwks.current_key_set(expected.jwks_url)
    elif not isinstance(kid, str) or not kid:
        raise InvalidToken("the token header has no 'kid'")
    else:
        keys = jwks.key_set_for(expected.jwks_url, kid)
    if keys is None:
        raise InvalidToken(f"unknown signing key: kid {kid!r} is not in the issuer's JWKS")
    try:
        claims = dict(jwt.decode(token, keys, algorithms=[alg]).claims)
    except (JoseError, ValueError):
        raise InvalidToken("signature verification failed") from None
    if claims.get("iss") != expected.issuer:
        raise InvalidToken("issuer mismatch")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if expected.audience not in audiences:
        raise InvalidToken(f"wrong audience: the token must be requested for audience {expected.audience!r}")
    exp = numeric_claim(claims, "exp", required=True)
    if exp is not None and now > exp + leeway:
        raise InvalidToken("the token has expired (exp)")
    nbf = numeric_claim(claims, "nbf", required=False)
    if nbf is not None and now + leeway < nbf:
        raise InvalidToken("the token is not valid yet (nbf)")
    iat = numeric_claim(claims, "iat", required=True)
    if iat is not None and now + leeway < iat:
        raise InvalidToken("the token was issued in the future (iat)")
    return claims
