"""Per-connection limits for uvicorn's HTTP/1.1 protocols: request-head size and time, idle and open connections.

uvicorn bounds none of these for httptools (h11 only bounds its receive buffer), so one client could send a
header of hundreds of MiB or keep hundreds of connections half-open. The mixins here, placed in front of a uvicorn
protocol, count the bytes of each request head before they reach the parser and refuse with 431 past
``max_head_bytes``; refuse with 408 a head not complete ``head_timeout_seconds`` after its first byte; close a
connection that sends nothing (uvicorn's keep-alive timer, armed from the connection's start); and answer 503 to
connections past ``max_connections`` in this process. A refusal is written, the write side is shut, and what the
client still sends is read and dropped for :data:`LINGER_SECONDS`, so it can read the answer instead of a reset.
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from collections.abc import Callable
from typing import Any

import h11
import msgspec
import structlog

__all__ = ["LINGER_SECONDS", "BoundedH11", "BoundedHttpTools", "ConnectionLimits"]

LINGER_SECONDS = 2.0

_log = structlog.get_logger("pyregistry.connection_limits")

_PHRASES = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


class ConnectionLimits(msgspec.Struct, frozen=True):
    """What one connection may cost (``[server]`` settings)."""

    max_head_bytes: int = 64 * 1024
    head_timeout_seconds: float = 10.0
    max_connections: int = 1000


def _refusal(status: int, message: str) -> bytes:
    body = message.encode("ascii") + b"\n"
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, _PHRASES[status]),
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        )
    )


class _BoundedConnection(asyncio.Protocol):
    """Mixin over a uvicorn protocol; subclasses say when the parser is waiting for a request head."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    connections: set[Any]
    cycle: Any
    timeout_keep_alive: int
    timeout_keep_alive_task: TimerHandle | None
    _unset_keepalive_if_required: Callable[[], None]
    timeout_keep_alive_handler: Callable[[], None]

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._head_bytes = 0
        self._head_timer: TimerHandle | None = None
        self._linger_timer: TimerHandle | None = None
        self._refused = False

    def _awaiting_head(self) -> bool:
        raise NotImplementedError

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self._limits.max_connections:
            self._refuse(503, f"too many open connections (limit {self._limits.max_connections}); try again later")
            return
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._head_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        while data and not self._refused:
            if not self._awaiting_head():
                super().data_received(data)
                return
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(self._limits.head_timeout_seconds, self._head_timed_out)
            room = self._limits.max_head_bytes - self._head_bytes
            if room <= 0:
                self._refuse(431, f"request line and headers exceed {self._limits.max_head_bytes} bytes")
                return
            part, data = data[:room], data[room:]
            self._head_bytes += len(part)
            super().data_received(part)
            if self.transport.is_closing():
                return
            if not self._awaiting_head():
                self._head_complete()

    def _head_complete(self) -> None:
        """The parser has a whole request head: the next head starts counting and timing afresh."""
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._responding():
            self._head_timer = self.loop.call_later(self._limits.head_timeout_seconds, self._head_timed_out)
            return
        seconds = self._limits.head_timeout_seconds
        self._refuse(408, f"request line and headers not received within {seconds:g} seconds")

    def _responding(self) -> bool:
        """Whether a response is under way (a pipelined next head arrives while the previous answer streams)."""
        return self.cycle is not None and not self.cycle.response_complete

    def _refuse(self, status: int, message: str) -> None:
        self._refused = True
        self._unset_keepalive_if_required()
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        peer = self.transport.get_extra_info("peername")
        _log.warning("connection.refused", status=status, reason=message, peer=str(peer))
        if self._responding():
            self.transport.close()
            return
        self.transport.write(_refusal(status, message))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)


class BoundedH11(_BoundedConnection):
    """Limits for uvicorn's h11 protocol: a head is awaited while the client's side is idle."""

    conn: h11.Connection

    def _awaiting_head(self) -> bool:
        return self.conn.their_state is h11.IDLE


class BoundedHttpTools(_BoundedConnection):
    """Limits for uvicorn's httptools protocol: a head is awaited outside a request's body."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, limits=limits, **kwargs)
        self._in_body = False

    def _awaiting_head(self) -> bool:
        return not self._in_body

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._head_complete()
        super().on_headers_complete()  # type: ignore[misc]

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()  # type: ignore[misc]
