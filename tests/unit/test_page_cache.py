"""The rendered-page cache serves a body only while its version stamp matches and stays within its budget."""

from __future__ import annotations

from collections.abc import Callable

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
