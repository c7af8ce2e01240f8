"""Fetching and caching issuers' JSON Web Key Sets, with a rate-limited refetch for rotated keys."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import structlog
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from pyregistry_domain.errors import UpstreamUnavailable

__all__ = ["JwksCache"]

_log = structlog.get_logger(__name__)
_UNAVAILABLE = "the issuer's JWKS could not be fetched"


@dataclass(slots=True)
class _Entry:
    keys: KeySet
    kids: frozenset[str]
    fetched_at: float


@dataclass(slots=True)
class _Issuer:
    """What the cache knows about one JWKS URL; ``lock`` serializes its fetches only."""

    lock: threading.Lock
    entry: _Entry | None = None
    refetched_at: float | None = None
    failed_at: float | None = None


class JwksCache:
    """One cached key set per JWKS URL, refreshed after ``ttl_seconds``.

    A token naming a ``kid`` the cached set lacks triggers one refetch (key rotation); further fetches of that URL
    for unknown kids wait ``refetch_interval_seconds``, and so does any fetch after a failed one (an outage answers
    at once instead of waiting for the timeout again), so bogus kids cannot hammer the issuer. Each URL has its own
    lock: a slow issuer delays only the tokens of that issuer, and concurrent callers share one fetch.
    """

    def __init__(
        self,
        *,
        ttl_seconds: float = 3600.0,
        refetch_interval_seconds: float = 30.0,
        timeout_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._refetch_interval = refetch_interval_seconds
        self._timeout = timeout_seconds
        self._monotonic = monotonic
        self._issuers: dict[str, _Issuer] = {}
        self._guard = threading.Lock()
        self.fetch_count = 0

    def key_set_for(self, url: str, kid: str) -> KeySet | None:
        """The key set holding ``kid``, or ``None`` when even a fresh fetch (if allowed now) lacks it."""
        issuer = self._issuer(url)
        with issuer.lock:
            now = self._monotonic()
            entry = issuer.entry
            if entry is None or now - entry.fetched_at >= self._ttl:
                if self._within_interval(issuer.failed_at, now):
                    raise UpstreamUnavailable(_UNAVAILABLE)
                entry = self._fetch(url, issuer, now)
                if kid in entry.kids:
                    return entry.keys
                issuer.refetched_at = now
                return None
            if kid in entry.kids:
                return entry.keys
            if self._within_interval(issuer.refetched_at, now) or self._within_interval(issuer.failed_at, now):
                return None
            _log.info("oidc.jwks_refetch", url=url, reason="unknown kid")
            issuer.refetched_at = now
            entry = self._fetch(url, issuer, now)
            return entry.keys if kid in entry.kids else None

    def current_key_set(self, url: str) -> KeySet:
        """The cached key set of ``url`` (fetched when missing or older than the TTL), for tokens without a ``kid``
        that an issuer with a single key may send."""
        issuer = self._issuer(url)
        with issuer.lock:
            now = self._monotonic()
            entry = issuer.entry
            if entry is None or now - entry.fetched_at >= self._ttl:
                if self._within_interval(issuer.failed_at, now):
                    raise UpstreamUnavailable(_UNAVAILABLE)
                entry = self._fetch(url, issuer, now)
            return entry.keys

    def _issuer(self, url: str) -> _Issuer:
        with self._guard:
            return self._issuers.setdefault(url, _Issuer(lock=threading.Lock()))

    def _within_interval(self, moment: float | None, now: float) -> bool:
        return moment is not None and now - moment < self._refetch_interval

    def _fetch(self, url: str, issuer: _Issuer, now: float) -> _Entry:
        with self._guard:
            self.fetch_count += 1
        try:
            response = httpx.get(url, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
            keys = KeySet.import_key_set(document)
        except (httpx.HTTPError, ValueError, JoseError, TypeError) as exc:
            issuer.failed_at = now
            _log.warning("oidc.jwks_unavailable", url=url, error=type(exc).__name__)
            raise UpstreamUnavailable(_UNAVAILABLE) from None
        kids = frozenset(str(key.get("kid")) for key in document.get("keys", []) if key.get("kid"))
        issuer.entry = _Entry(keys=keys, kids=kids, fetched_at=now)
        issuer.failed_at = None
        return issuer.entry
