"""``version_order`` sorts PEP 440 versions exactly as packaging's ``Version`` comparisons do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyregistry_domain.errors import InvalidVersion
from pyregistry_domain.versions import Version, version_order

_segments = st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=4)
_pre = st.none() | st.tuples(st.sampled_from(["a", "b", "rc", "alpha", "c", "pre"]), st.integers(0, 3))
_local = st.none() | st.lists(
    st.integers(0, 20).map(str) | st.sampled_from(["ubuntu", "abc", "z9", "dev"]), min_size=1, max_size=3
)


@st.composite
def versions(draw: st.DrawFn) -> str:
    """PEP 440 version strings with epochs, trailing zeros, pre, post, dev and local parts in any mix."""
    text = ".".join(str(part) for part in draw(_segments))
    if draw(st.booleans()):
        text = f"{draw(st.integers(0, 2))}!{text}"
    pre = draw(_pre)
    if pre is not None:
        text += f"{pre[0]}{pre[1]}"
    if draw(st.booleans()):
        text += f".post{draw(st.integers(0, 3))}"
    if draw(st.booleans()):
        text += f".dev{draw(st.integers(0, 3))}"
    local = draw(_local)
    if local is not None:
        text += "+" + ".".join(local)
    return text


@given(versions(), versions())
def test_tuples_compare_like_versions(first: str, second: str) -> None:
    a, b = Version(first), Version(second)
    key_a, key_b = version_order(first), version_order(second)
    assert (key_a < key_b, key_a == key_b, key_a > key_b) == (a < b, a == b, a > b)


@given(st.lists(versions(), max_size=30))
def test_sorting_by_the_tuples_is_sorting_by_version(texts: list[str]) -> None:
    assert [Version(text) for text in sorted(texts, key=version_order)] == sorted(Version(text) for text in texts)


def test_known_orders_and_invalid_text() -> None:
    ordered = [
        "1.0.dev0",
        "1.0a1",
        "1.0b2.post1",
        "1.0rc1",
        "1.0",
        "1.0+abc",
        "1.0+5",
        "1.0.post1.dev0",
        "1.0.post1",
        "1.1",
        "1!0.1",
    ]
    assert sorted(reversed(ordered), key=version_order) == ordered
    assert version_order("1.0") == version_order("1.0.0") == version_order("1")
    with pytest.raises(InvalidVersion, match="not a valid PEP 440 version"):
        version_order("not-a-version")
