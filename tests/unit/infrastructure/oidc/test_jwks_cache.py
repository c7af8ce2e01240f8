"""The JWKS cache against a real loopback JWKS server: caching, rotation refetch, rate limit, outage, and one lock
per issuer."""

from __future__ import annotations

import threading
import time

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


@pytest.mark.slow
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


@pytest.mark.slow
def test_expired_entry_and_unknown_kid_fetch_once_per_call() -> None:
    clock = FakeMonotonic()
    with serve_jwks([rsa_key("k1")]) as jwks:
        cache = JwksCache(ttl_seconds=600, refetch_interval_seconds=30, monotonic=clock)
        assert cache.key_set_for(jwks.url, "k1") is not None
        clock.now += 601
        assert cache.key_set_for(jwks.url, "bogus") is None
        assert jwks.hits == 2
        assert cache.key_set_for(jwks.url, "bogus") is None
        assert jwks.hits == 2, "the fetch of the expired entry already looked for the kid"
        assert cache.key_set_for(jwks.url, "k1") is not None
        assert jwks.hits == 2


@pytest.mark.slow
def test_an_outage_is_retried_only_after_the_refetch_interval() -> None:
    clock = FakeMonotonic()
    with serve_jwks([rsa_key("k1")]) as jwks:
        cache = JwksCache(ttl_seconds=600, refetch_interval_seconds=30, monotonic=clock)
        jwks.status = 503
        for _ in range(3):
            with pytest.raises(UpstreamUnavailable):
                cache.key_set_for(jwks.url, "k1")
        assert jwks.hits == 1
        jwks.status = 200
        clock.now += 31
        assert cache.key_set_for(jwks.url, "k1") is not None
        assert jwks.hits == 2

        jwks.status = 503
        clock.now += 31
        with pytest.raises(UpstreamUnavailable):
            cache.key_set_for(jwks.url, "bogus-1")
        for kid in ("bogus-2", "bogus-3", "bogus-4"):
            assert cache.key_set_for(jwks.url, kid) is None
        assert cache.key_set_for(jwks.url, "k1") is not None, "cached keys still serve during the outage"
        assert jwks.hits == 3
        clock.now += 31
        with pytest.raises(UpstreamUnavailable):
            cache.key_set_for(jwks.url, "bogus-5")
        assert jwks.hits == 4


@pytest.mark.slow
def test_a_slow_issuer_delays_only_its_own_tokens() -> None:
    with serve_jwks([rsa_key("slow")]) as slow, serve_jwks([rsa_key("fast")]) as fast:
        slow.delay_seconds = 1.5
        cache = JwksCache(timeout_seconds=5)
        results: list[bool] = []

        def fetch_slow() -> None:
            results.append(cache.key_set_for(slow.url, "slow") is not None)

        waiting = [threading.Thread(target=fetch_slow) for _ in range(2)]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 5
        while slow.hits == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        assert cache.key_set_for(fast.url, "fast") is not None
        assert time.monotonic() - started < 1.0, "the fast issuer waited for the slow one"
        assert any(thread.is_alive() for thread in waiting)
        for thread in waiting:
            thread.join(10)
        assert results == [True, True]
        assert slow.hits == 1, "concurrent callers share one fetch"
