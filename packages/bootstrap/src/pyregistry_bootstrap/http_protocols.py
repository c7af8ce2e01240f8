"""The uvicorn HTTP/1.1 protocols pyregistry serves with: reason phrases plus per-connection limits."""

from __future__ import annotations

import asyncio
import functools
from typing import cast

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pyregistry_bootstrap.connection_limits import BoundedH11, BoundedHttpTools, ConnectionLimits
from pyregistry_bootstrap.reason_phrases import ReasonPhrases
from pyregistry_bootstrap.strict_framing import StrictH11Framing

__all__ = ["RegistryH11Protocol", "RegistryHttpToolsProtocol", "protocol_for"]


class RegistryH11Protocol(ReasonPhrases, BoundedH11, StrictH11Framing, H11Protocol):
    """uvicorn's h11 protocol with cause-carrying reason phrases, connection limits and strict framing."""


class RegistryHttpToolsProtocol(ReasonPhrases, BoundedHttpTools, HttpToolsProtocol):
    """uvicorn's httptools protocol with cause-carrying reason phrases and connection limits."""


def protocol_for(http: str, limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """The protocol factory for ``[server] http`` (``auto`` is httptools, as uvicorn picks when it is installed).

    uvicorn only calls it with keyword arguments, as it would a class; a ``partial`` of a module-level class
    pickles, so multi-worker runs (spawned processes) get the same limits.
    """
    protocol = RegistryH11Protocol if http == "h11" else RegistryHttpToolsProtocol
    return cast("type[asyncio.Protocol]", functools.partial(protocol, limits=limits))
