"""API tokens: ``pyr_`` secrets bound to one tenant, stored only as a hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pyregistry_domain.errors import Forbidden, InvalidToken, ValidationFailed

__all__ = [
    "MAX_TOKEN_LIFETIME",
    "ApiToken",
    "GeneratedSecret",
    "TokenScope",
    "check_token_lifetime",
    "generate_token_secret",
    "hash_token_secret",
    "parse_scopes",
    "parse_token_secret",
    "token_lifetime",
]

TOKEN_PREFIX = "pyr_"  # noqa: S105 - a public prefix, not a secret
_KEY_ID_BYTES = 9
_SECRET_BYTES = 32
_TOKEN_RE = re.compile(r"^pyr_([A-Za-z0-9_-]{12})_([A-Za-z0-9_-]{43,})$")
MAX_TOKEN_NAME_LENGTH = 100
MAX_TOKEN_LIFETIME = timedelta(days=3650)
_LIFETIME_RULE = "token lifetime must be more than 0 and at most 3650 days (10 years)"
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


def check_token_lifetime(lifetime: timedelta) -> timedelta:
    """``lifetime`` if it is positive and at most :data:`MAX_TOKEN_LIFETIME`, else :class:`ValidationFailed`."""
    if lifetime <= timedelta(0) or lifetime > MAX_TOKEN_LIFETIME:
        raise ValidationFailed(_LIFETIME_RULE)
    return lifetime


def token_lifetime(amount: int, unit: str) -> timedelta:
    """``amount`` ``unit`` (seconds, minutes, hours, days or weeks) as a checked lifetime; numbers too large for a
    ``timedelta`` get the same :class:`ValidationFailed` as any other lifetime beyond the maximum."""
    seconds = amount * _UNIT_SECONDS[unit]
    if not 0 < seconds <= MAX_TOKEN_LIFETIME.total_seconds():
        raise ValidationFailed(_LIFETIME_RULE)
    return timedelta(seconds=seconds)


class TokenScope(StrEnum):
    """What a token may do."""

    READ = "read"
    PUBLISH = "publish"


def parse_scopes(values: list[str] | tuple[str, ...]) -> frozenset[TokenScope]:
    """Parse scope names, refusing unknown ones and an empty set."""
    scopes: set[TokenScope] = set()
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if not part:
                continue
            try:
                scopes.add(TokenScope(part))
            except ValueError:
                raise ValidationFailed(f"unknown token scope {part!r}: use 'read' and/or 'publish'") from None
    if not scopes:
        raise ValidationFailed("a token needs at least one scope: 'read' and/or 'publish'")
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class GeneratedSecret:
    """A freshly generated token: the secret shown once, its key id and its hash."""

    secret: str
    key_id: str
    secret_hash: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hash_token_secret(secret: str) -> str:
    """Hash a full token secret for storage (SHA-256 suffices: the secret has 256 random bits)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_token_secret() -> GeneratedSecret:
    """Make ``pyr_<key id>_<32 random bytes>``; the key id locates the stored hash."""
    key_id = _b64(secrets.token_bytes(_KEY_ID_BYTES))
    secret = f"{TOKEN_PREFIX}{key_id}_{_b64(secrets.token_bytes(_SECRET_BYTES))}"
    return GeneratedSecret(secret=secret, key_id=key_id, secret_hash=hash_token_secret(secret))


def parse_token_secret(secret: str) -> str:
    """Return the key id of a well-formed token secret, or raise :class:`InvalidToken`: a garbled ``pyr_``
    secret is "not a valid token"; only a secret without the prefix is told what the prefix is."""
    match = _TOKEN_RE.fullmatch(secret)
    if match is not None:
        return match.group(1)
    if secret.startswith(TOKEN_PREFIX):
        raise InvalidToken("not a valid token: it is cut short or altered; copy the whole pyr_... secret again")
    raise InvalidToken("not a valid token: pyregistry tokens start with 'pyr_'")


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A stored token: never the secret, only its hash."""

    id: str
    key_id: str
    secret_hash: str
    tenant_id: str
    name: str
    scopes: frozenset[TokenScope]
    created_at: datetime
    created_by: str
    project: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    minted_by_publisher: str | None = None

    def matches(self, secret: str) -> bool:
        """Compare a presented secret with the stored hash in constant time."""
        return hmac.compare_digest(self.secret_hash, hash_token_secret(secret))

    def is_active(self, now: datetime) -> bool:
        """True when neither revoked nor expired."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at

    def check_usable(self, secret: str, now: datetime) -> None:
        """Raise :class:`InvalidToken` unless ``secret`` is this token's and it is active."""
        if not self.matches(secret):
            raise InvalidToken("the token is not valid")
        if self.revoked_at is not None:
            raise InvalidToken("the token has been revoked")
        if self.expires_at is not None and now >= self.expires_at:
            raise InvalidToken("the token has expired")

    def grants(self, scope: TokenScope) -> bool:
        """True when the token has ``scope``; a token that may publish may also read (as on PyPI-like
        registries), always within its own tenant and project."""
        return scope in self.scopes or (scope is TokenScope.READ and TokenScope.PUBLISH in self.scopes)

    def check_allows(self, scope: TokenScope, tenant_id: str, normalized_project: str | None = None) -> None:
        """Raise :class:`Forbidden` unless the token grants ``scope`` on this tenant (and project)."""
        if tenant_id != self.tenant_id:
            raise Forbidden("this token belongs to another tenant")
        if not self.grants(scope):
            raise Forbidden(f"this token lacks the '{scope.value}' scope")
        if self.project is not None and normalized_project is not None and self.project != normalized_project:
            raise Forbidden(f"this token is limited to project '{self.project}'")

    def revoked(self, when: datetime) -> ApiToken:
        """Return a revoked copy."""
        return replace(self, revoked_at=when)
