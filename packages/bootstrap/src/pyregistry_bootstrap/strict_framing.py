"""h11 refuses requests that announce both ``Content-Length`` and ``Transfer-Encoding``, as httptools does.

h11 frames such a request by ``Transfer-Encoding`` and keeps the connection open, so bytes after the chunked body
are read as a next request: the desync a request-smuggling attack needs when a proxy in front framed by
``Content-Length``. RFC 9112 section 6.1 lets a server reject the request and requires closing the connection;
raising h11's protocol error makes uvicorn answer 400 and close.
"""

from __future__ import annotations

from typing import Any

import h11
from uvicorn.config import Config

__all__ = ["StrictH11Connection", "StrictH11Framing"]


class StrictH11Connection(h11.Connection):
    """An h11 server connection whose request heads may not carry two framings."""

    def next_event(self) -> Any:
        """h11's next event; a request head with both framing headers is a protocol error."""
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name for name, _ in event.headers}
            if b"content-length" in names and b"transfer-encoding" in names:
                raise h11.RemoteProtocolError("both Content-Length and Transfer-Encoding", error_status_hint=400)
        return event


class StrictH11Framing:
    """Mixin over uvicorn's h11 protocol: its connection is a :class:`StrictH11Connection`."""

    config: Config
    conn: h11.Connection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = self.config.h11_max_incomplete_event_size
        self.conn = StrictH11Connection(h11.SERVER) if limit is None else StrictH11Connection(h11.SERVER, limit)
