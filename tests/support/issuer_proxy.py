"""A loopback proxy in front of a test OIDC provider that answers discovery under its own address but lets the
token endpoint see the provider's: the ID tokens it hands out then name another issuer than the one discovered."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import httpx

from tests.support.loopback_server import loopback_server, relay

__all__ = ["foreign_issuer_proxy"]

_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@contextmanager
def foreign_issuer_proxy(provider_issuer: str) -> Iterator[str]:
    """Yield the proxy's URL (the issuer to configure); every request goes to ``provider_issuer``."""
    target = httpx.URL(provider_issuer)

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_HEADERS}
            own = f"127.0.0.1:{self.server.server_address[1]}"
            headers["Host"] = target.netloc.decode() if self.path.startswith("/oauth2/token") else own
            answer = httpx.request(
                self.command, str(target.join(self.path)), headers=headers, content=body, follow_redirects=False
            )
            relay(self, answer, _HOP_HEADERS)

        do_GET = _forward
        do_POST = _forward

        def log_message(self, *_: object) -> None:
            return

    with loopback_server(Forward) as url:
        yield url
