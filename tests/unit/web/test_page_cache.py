"""The rendered-page cache serves a body only while its version stamp matches and stays within its budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from pyregistry_web.page_cache import RenderedPageCache


def test_cache_serves_a_body_only_for_the_version_it_was_rendered_at() -> None:
    cache = RenderedPageCache(max_bytes=1024)
    renders: list[str] = []

    def render(text: str) -> Callable[[], bytes]:
        def inner() -> bytes:
            renders.append(text)
            return text.encode()

        return inner

    key = ("t1", "alpha", "JSON")
    assert cache.get_or_render(key, "1", render("v1")) == b"v1"
    assert cache.get_or_render(key, "1", render("unused")) == b"v1"
    assert cache.get_or_render(key, "2", render("v2")) == b"v2"
    assert cache.get_or_render(key, None, render("uncached")) == b"uncached"
    assert cache.get_or_render(key, "2", render("unused")) == b"v2"
    assert renders == ["v1", "v2", "uncached"]
    assert (cache.hits, cache.misses) == (2, 3)


def test_cache_evicts_least_recently_used_pages_beyond_its_byte_budget() -> None:
    cache = RenderedPageCache(max_bytes=10)
    cache.get_or_render(("t", "a", "HTML"), "1", lambda: b"aaaa")
    cache.get_or_render(("t", "b", "HTML"), "1", lambda: b"bbbb")
    cache.get_or_render(("t", "a", "HTML"), "1", lambda: b"never")
    cache.get_or_render(("t", "c", "HTML"), "1", lambda: b"cccc")
    assert cache.get_or_render(("t", "a", "HTML"), "1", lambda: b"again") == b"aaaa"
    assert cache.get_or_render(("t", "b", "HTML"), "1", lambda: b"rendered") == b"rendered"
    assert cache.get_or_render(("t", "big", "HTML"), "1", lambda: b"x" * 11) == b"x" * 11
    assert cache.get_or_render(("t", "big", "HTML"), "1", lambda: b"fresh") == b"fresh"


def _readers(cache: RenderedPageCache, versions: list[str], render: Callable[[str], bytes]) -> list[bytes]:
    """Start one thread per version at once (a barrier), each asking for the same page; their bodies in order."""
    key = ("t", "hot", "JSON")
    start = threading.Barrier(len(versions))
    bodies: list[bytes] = [b""] * len(versions)

    def read(index: int, version: str) -> None:
        start.wait()
        bodies[index] = cache.get_or_render(key, version, lambda: render(version))

    threads = [threading.Thread(target=read, args=item) for item in enumerate(versions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return bodies


def test_concurrent_readers_of_a_stale_page_share_one_render() -> None:
    cache = RenderedPageCache(max_bytes=1024)
    cache.get_or_render(("t", "hot", "JSON"), "1", lambda: b"old")
    renders: list[str] = []

    def slow_render(version: str) -> bytes:
        renders.append(version)
        time.sleep(0.3)
        return f"page@{version}".encode()

    assert _readers(cache, ["2"] * 8, slow_render) == [b"page@2"] * 8
    assert renders == ["2"]
    assert cache.get_or_render(("t", "hot", "JSON"), "2", lambda: b"unused") == b"page@2"


def test_a_reader_needing_another_version_renders_its_own_and_a_failed_render_is_retried() -> None:
    cache = RenderedPageCache(max_bytes=1024)
    renders: list[str] = []

    def render(version: str) -> bytes:
        renders.append(version)
        time.sleep(0.1)
        return version.encode()

    assert sorted(_readers(cache, ["1", "2"], render)) == [b"1", b"2"]
    assert sorted(renders) == ["1", "2"]

    def broken() -> bytes:
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError, match="render failed"):
        cache.get_or_render(("t", "hot", "JSON"), "3", broken)
    assert cache.get_or_render(("t", "hot", "JSON"), "3", lambda: b"three") == b"three"
