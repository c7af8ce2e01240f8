"""Type aliases for Litestar's generic HTTP objects, as the handlers and helpers use them."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State

__all__ = ["AnyConnection", "AnyRequest"]

AnyRequest: TypeAlias = Request[Any, Any, State]
"""A request with any user and auth objects (the registry authenticates inside its handlers) and the app state."""

AnyConnection: TypeAlias = ASGIConnection[Any, Any, Any, State]
"""A request or websocket, as route guards receive it."""
