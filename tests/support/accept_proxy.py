"""A loopback HTTP proxy in front of a registry that replaces the ``Accept`` header of every request, so a client
that always asks for PEP 691 JSON (pip) can be made to read the HTML pages, and the other way round."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import httpx

from tests.support.loopback_server import loopback_server, relay

__all__ = ["accept_rewriting_proxy"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "host"}


@contextmanager
def accept_rewriting_proxy(upstream: str, accept: str) -> Iterator[str]:
    """Serve ``upstream`` (``http://127.0.0.1:PORT``) on a new loopback port; yields the proxy's base URL."""
    client = httpx.Client(base_url=upstream, timeout=60)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"accept"}}
            answer = client.get(self.path, headers={**headers, "Accept": accept})
            relay(self, answer, _HOP_BY_HOP)

        def log_message(self, format: str, *args: object) -> None:
            return

    try:
        with loopback_server(Handler) as url:
            yield url
    finally:
        client.close()
