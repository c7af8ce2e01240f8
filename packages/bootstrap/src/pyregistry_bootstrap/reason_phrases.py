"""uvicorn HTTP/1.1 protocols that put an error's cause in the status line and write a small answer in one go.

twine prints only the reason phrase of a failed upload (``400 Bad Request ... \\n Bad Request``). ASGI has no way
to set it, so the web layer names the cause in the private ``x-pyregistry-reason`` header; these protocols drop
that header and write ``HTTP/1.1 400 File already exists: ...`` instead. The phrase must be 1 to
:data:`~pyregistry_web.errors.MAX_REASON_CHARS` printable ASCII characters, otherwise the standard phrase stays.
It relies on two uvicorn details, both covered by ``tests/e2e/test_reason_phrases.py``: the protocol takes its app
from ``self.app``, and it writes a response's status line at the start of one transport write; were either to
change, responses keep the standard phrase. Cost: about 2 µs per response.

uvicorn writes a response's head and its body in two transport writes, two ``send`` calls on the socket; these
protocols hold the head until the first body write and send both together when that body is small (a cached page,
a small file, an error), which saves one system call per answer. A held head is written at the latest on the
event loop's next turn, and before the transport closes.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from pyregistry_web.errors import MAX_REASON_CHARS, REASON_HEADER

__all__ = ["JOINED_BODY_BYTES", "ReasonPhrases", "ResponseWriter"]

_REASON_NAME = REASON_HEADER.encode()
_PRINTABLE = re.compile(rb"[\x20-\x7e]{1,%d}" % MAX_REASON_CHARS)


JOINED_BODY_BYTES = 64 * 1024
"""The largest first body write sent together with the held head; a larger one is written after it (no copy)."""


class ResponseWriter:
    """The connection's transport. The one write after a response start that carries a reason gets it; the write
    of a response head made while ``holding`` waits for the next write (or :meth:`release`) to go out with it."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self.pending: tuple[bytes, bytes] | None = None
        self.holding = False
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        pending, self.pending = self.pending, None
        if pending is not None and data.startswith(pending[0]):
            prefix, reason = pending
            end = data.find(b"\r\n")
            if end > 0:
                data = b"".join((prefix, reason, data[end:]))
        if self.holding:
            self.release()
            self._held = data
            asyncio.get_running_loop().call_soon(self.release)
            return
        held, self._held = self._held, None
        if held is not None:
            if len(data) > JOINED_BODY_BYTES:
                self._transport.write(held)  # type: ignore[attr-defined]
            else:
                data = held + data
        self._transport.write(data)  # type: ignore[attr-defined]

    def release(self) -> None:
        """Write a held head now (nothing when none is held)."""
        self.holding = False
        held, self._held = self._held, None
        if held is not None:
            self._transport.write(held)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.release()
        self._transport.close()

    def write_eof(self) -> None:
        self.release()
        self._transport.write_eof()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _take_reason(message: HTTPResponseStartEvent) -> tuple[HTTPResponseStartEvent, bytes | None]:
    """``message`` without the reason header, and the reason when it is usable."""
    headers = message.get("headers") or ()
    for name, value in headers:
        if name == _REASON_NAME:
            kept = [header for header in headers if header[0] != _REASON_NAME]
            return {**message, "headers": kept}, value if _PRINTABLE.fullmatch(value) else None
    return message, None


class ReasonPhrases(asyncio.Protocol):
    """Mixin over a uvicorn protocol (one instance per connection): wraps its transport and its app's ``send``."""

    app: ASGIApp

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        writer = ResponseWriter(transport)
        self.app = _with_reasons(self.app, writer)
        super().connection_made(writer)  # type: ignore[arg-type]


def _with_reasons(app: ASGIApp, writer: ResponseWriter) -> ASGIApp:
    async def reasoned(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return

        async def send_with_reason(message: Message) -> None:
            if message["type"] != "http.response.start":
                await send(message)
                return
            start, reason = _take_reason(message)
            if reason is not None:
                writer.pending = (b"HTTP/1.1 %d " % start["status"], reason)
            writer.holding = True
            try:
                await send(start)
            finally:
                writer.pending = None
                writer.holding = False

        await app(scope, receive, send_with_reason)

    return reasoned
