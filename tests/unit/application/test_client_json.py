"""Client JSON is bounded in size and nesting: hostile input is a ValidationFailed with a clear message, never a
RecursionError (issue 14 item 10)."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pyregistry_application.client_json import MAX_JSON_DEPTH, decode_client_json, json_nesting_exceeds
from pyregistry_application.provenance import parse_attestations
from pyregistry_domain.errors import ValidationFailed

DEEP = "[" * 100_000 + "]" * 100_000


class Mint(msgspec.Struct):
    token: str


def _decode(raw: bytes | str, max_bytes: int = 1 << 20) -> object:
    return decode_client_json(raw, object, what="the body", invalid="the body is not JSON", max_bytes=max_bytes)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_nesting_up_to_the_limit_decodes_and_one_more_level_is_refused() -> None:
    assert _depth(_decode(_nested(MAX_JSON_DEPTH))) == MAX_JSON_DEPTH
    with pytest.raises(ValidationFailed) as refused:
        _decode(_nested(MAX_JSON_DEPTH + 1))
    assert refused.value.message == f"the body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels"


def test_a_hundred_thousand_levels_are_refused_in_milliseconds() -> None:
    started = time.monotonic()
    with pytest.raises(ValidationFailed, match="deeper than 32 levels"):
        decode_client_json(
            '{"token": "x", "extra": ' + DEEP + "}", Mint, what="the body", invalid="not JSON", max_bytes=1 << 20
        )
    assert time.monotonic() - started < 0.1


def test_brackets_inside_strings_do_not_count() -> None:
    raw = json.dumps(["[" * 100, '{"\\"[[[', "\\" * 3 + "[" * 50])
    assert _decode(raw) == ["[" * 100, '{"\\"[[[', "\\" * 3 + "[" * 50]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"x" * 101, "the body is larger than 100 bytes"),
        (b"{oops", "the body is not JSON"),
        (b"\xff\xfe", "the body is not JSON"),
        (b"[1e400]", "the body is not JSON"),
    ],
)
def test_oversized_and_invalid_bodies_get_their_message(raw: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _decode(raw, max_bytes=100)
    assert refused.value.message == message


def test_the_wanted_type_is_checked() -> None:
    assert decode_client_json(b'{"token": "t"}', Mint, what="w", invalid="bad", max_bytes=100) == Mint(token="t")
    with pytest.raises(ValidationFailed, match=r"^bad$"):
        decode_client_json(b'{"token": 1}', Mint, what="w", invalid="bad", max_bytes=100)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\', max_size=4), inner),
    max_leaves=30,
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(0, 8))
@example(value=json.loads(_nested(40)), limit=MAX_JSON_DEPTH)
def test_the_measured_nesting_is_the_real_one(value: Any, limit: int) -> None:
    assert json_nesting_exceeds(json.dumps(value).encode(), limit) == (_depth(value) > limit)


@settings(max_examples=200, deadline=None)
@given(raw=st.text(alphabet='[]{}",:0 ', max_size=80))
@example(raw=DEEP)
@example(raw="[" + '{"version": 1, "envelope": ' * 5_000)
def test_any_attestations_field_parses_or_raises_validation_failed(raw: str) -> None:
    try:
        parsed = parse_attestations(raw)
    except ValidationFailed as exc:
        assert exc.message.startswith("attestations: ")
        return
    assert isinstance(parsed, list) and parsed
