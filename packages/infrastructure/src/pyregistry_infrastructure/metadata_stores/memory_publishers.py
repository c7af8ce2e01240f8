"""In-memory trusted-publisher and jti replay stores (tests and ``database_store = "memory"``)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher

__all__ = ["MemoryJtiReplayStore", "MemoryPublisherStore"]


def _identity_key(publisher: TrustedPublisher) -> tuple[str, ...]:
    return (
        publisher.tenant_id,
        publisher.project,
        publisher.provider.value,
        publisher.repository.lower(),
        publisher.workflow,
        publisher.environment or "",
    )


class MemoryPublisherStore:
    """Publishers in a dict guarded by a lock."""

    def __init__(self) -> None:
        self._publishers: dict[str, TrustedPublisher] = {}
        self._lock = threading.Lock()

    def add_publisher(self, publisher: TrustedPublisher) -> None:
        with self._lock:
            if any(_identity_key(p) == _identity_key(publisher) for p in self._publishers.values()):
                raise AlreadyExists(f"publisher {publisher.identity} is already registered for {publisher.project}")
            self._publishers[publisher.id] = publisher

    def list_publishers(self, tenant_id: str) -> list[TrustedPublisher]:
        with self._lock:
            return [p for p in self._publishers.values() if p.tenant_id == tenant_id]

    def publishers_for_provider(self, provider: PublisherProvider) -> list[TrustedPublisher]:
        with self._lock:
            return [p for p in self._publishers.values() if p.provider is provider]

    def remove_publisher(self, tenant_id: str, publisher_id: str) -> bool:
        with self._lock:
            publisher = self._publishers.get(publisher_id)
            if publisher is None or publisher.tenant_id != tenant_id:
                return False
            del self._publishers[publisher_id]
            return True

    def bind_unbound_publishers(self, provider: PublisherProvider, issuer: str) -> int:
        with self._lock:
            unbound = [p for p in self._publishers.values() if p.provider is provider and not p.issuer]
            for publisher in unbound:
                self._publishers[publisher.id] = replace(publisher, issuer=issuer)
            return len(unbound)


class MemoryJtiReplayStore:
    """Used jti values until their expiry."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()

    def claim(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        with self._lock:
            self._seen = {key: expiry for key, expiry in self._seen.items() if expiry >= now}
            if (issuer, jti) in self._seen:
                return False
            self._seen[(issuer, jti)] = expires_at
            return True
