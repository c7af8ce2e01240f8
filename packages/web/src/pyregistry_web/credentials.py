"""Reading API tokens from HTTP Basic (``__token__``) or Bearer authorization."""

from __future__ import annotations

import base64
from typing import Any

from litestar.connection import ASGIConnection

__all__ = ["client_ip", "token_from_headers"]


def token_from_headers(authorization: str | None) -> str | None:
    """The presented token: Basic password (any username, ``__token__`` by convention) or Bearer value."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip() or None
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII header text
        return None
    _, _, password = decoded.partition(":")
    return password or None


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The peer address as the ASGI server reported it (proxy headers are not trusted here)."""
    client = connection.scope.get("client")
    return client[0] if client else None
