"""The JWKS cache against a real loopback JWKS server: caching, rotation refetch, rate limit, outage."""

from __future__ import annotations

import pytest

from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_infrastructure.oidc.jwks import JwksCache
from tests.support.jwks import rsa_key, serve_jwks
from tests.support.server import free_port


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_cache_refetches_once_for_unknown_kid_then_rate_limits() -> None:
    clock = FakeMonotonic()
    with serve_jwks([rsa_key("k1")]) as jwks:
        cache = JwksCache(ttl_seconds=600, refetch_interval_seconds=30, monotonic=clock)
        assert cache.key_set_for(jwks.url, "k1") is not None
        assert cache.key_set_for(jwks.url, "k1") is not None
        assert jwks.hits == 1
        jwks.keys.append(rsa_key("k2"))
        assert cache.key_set_for(jwks.url, "k2") is not None
        assert jwks.hits == 2
        assert cache.key_set_for(jwks.url, "bogus") is None
        assert cache.key_set_for(jwks.url, "bogus") is None
        assert jwks.hits == 2
        clock.now += 31
        assert cache.key_set_for(jwks.url, "bogus") is None
        assert jwks.hits == 3
        clock.now += 600
        assert cache.key_set_for(jwks.url, "k1") is not None
        assert jwks.hits == 4


def test_unreachable_jwks_is_upstream_unavailable_without_details() -> None:
    url = f"http://127.0.0.1:{free_port()}/jwks"
    with pytest.raises(UpstreamUnavailable) as caught:
        JwksCache(timeout_seconds=2).key_set_for(url, "k1")
    assert caught.value.message == "the issuer's JWKS could not be fetched"
