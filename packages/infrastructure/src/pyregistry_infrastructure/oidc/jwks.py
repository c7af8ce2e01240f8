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


@dataclass(slots=True)
class _Entry:
    keys: KeySet
    kids: frozenset[str]
    fetched_at: float
    refetched_at: float | None = None


class JwksCache:
    """One cached key set per JWKS URL, refreshed after ``ttl_seconds``.

    A token naming a ``kid`` the cached set lacks triggers one refetch (key rotation); further unknown-kid
    refetches of that URL wait ``refetch_interval_seconds``, so bogus kids cannot hammer the issuer.
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
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.fetch_count = 0

    def key_set_for(self, url: str, kid: str) -> KeySet | None:
        """The key set holding ``kid``, or ``None`` when even a fresh fetch (if allowed now) lacks it."""
        with self._lock:
            now = self._monotonic()
            entry = self._entries.get(url)
            if entry is None or now - entry.fetched_at >= self._ttl:
                entry = self._fetch(url, now)
            if kid in entry.kids:
                return entry.keys
            if entry.refetched_at is not None and now - entry.refetched_at < self._refetch_interval:
                return None
            _log.info("oidc.jwks_refetch", url=url, reason="unknown kid")
            entry = self._fetch(url, now)
            entry.refetched_at = now
            return entry.keys if kid in entry.kids else None

    def _fetch(self, url: str, now: float) -> _Entry:
        self.fetch_count += 1
        try:
            response = httpx.get(url, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
            keys = KeySet.import_key_set(document)
        except (httpx.HTTPError, ValueError, JoseError, TypeError) as exc:
            _log.warning("oidc.jwks_unavailable", url=url, error=type(exc).__name__)
            raise UpstreamUnavailable("the issuer's JWKS could not be fetched") from None
        kids = frozenset(str(key.get("kid")) for key in document.get("keys", []) if key.get("kid"))
        entry = _Entry(keys=keys, kids=kids, fetched_at=now)
        self._entries[url] = entry
        return entry
