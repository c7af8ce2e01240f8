"""Small whole answers (a cached page, a small file, a 304) that can be sent without the framework's response
machinery, or handed to it as the equivalent Litestar response."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

__all__ = ["Answer"]

_BODILESS = frozenset({204, 304})


class Answer:
    """Status, headers and body of a whole answer. As an ASGI app it sends the same status line, headers and body
    that :meth:`response` makes Litestar send (``Content-Type`` with a charset for ``text/*`` media types,
    ``Content-Length`` unless the status has no body)."""

    __slots__ = ("body", "headers", "media_type", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes = b"", media_type: str | None = None) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.media_type = media_type

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The header lines as the ASGI start message carries them."""
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in self.headers.items()]
        if self.status not in _BODILESS:
            if self.media_type is not None:
                media = self.media_type
                raw.append(
                    (b"content-type", f"{media}; charset=utf-8".encode() if media[:5] == "text/" else media.encode())
                )
            raw.append((b"content-length", b"%d" % len(self.body)))
        return raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the answer."""
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": self.status,
            "headers": self.raw_headers(),
        }
        await send(start)
        body: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": b"" if self.status in _BODILESS else self.body,
            "more_body": False,
        }
        await send(body)

    def response(self) -> Response[Any]:
        """The same answer as a Litestar response (for a route handler)."""
        return Response(content=self.body, status_code=self.status, headers=self.headers, media_type=self.media_type)
