"""Decoding JSON a client sent, bounded in size and nesting so hostile input is a 400, never a ``RecursionError``.

Both ``json.loads`` and msgspec recurse once per nesting level: ``[[[[...`` a few thousand deep raises
``RecursionError``, which no caller expects (a 500). The nesting is measured first, without recursion, on the
bytes outside JSON strings.
"""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from pyregistry_domain.errors import ValidationFailed

__all__ = ["MAX_JSON_DEPTH", "decode_client_json", "json_nesting_exceeds"]

MAX_JSON_DEPTH = 32

T = TypeVar("T")

_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_OPENERS = frozenset(b"[{")


def json_nesting_exceeds(raw: bytes, max_depth: int) -> bool:
    """Whether arrays and objects in ``raw`` nest deeper than ``max_depth`` (brackets inside strings do not count)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def decode_client_json(
    raw: bytes | str, type_: type[T], *, what: str, invalid: str, max_bytes: int, max_depth: int = MAX_JSON_DEPTH
) -> T:
    """``raw`` decoded as ``type_`` (``object`` for any JSON value); :class:`ValidationFailed` when it is larger than
    ``max_bytes``, nests deeper than ``max_depth`` (both messages start with ``what``) or is not valid (``invalid``).
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > max_bytes:
        raise ValidationFailed(f"{what} is larger than {max_bytes} bytes")
    if json_nesting_exceeds(data, max_depth):
        raise ValidationFailed(f"{what} nests arrays or objects deeper than {max_depth} levels")
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.DecodeError:
        raise ValidationFailed(invalid) from None
