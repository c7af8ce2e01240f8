"""Threaded HTTP servers on loopback for the test upstreams and proxies: start, stop, answer, relay."""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self

import httpx

__all__ = ["LoopbackServer", "LoopbackUpstream", "loopback_server", "relay", "send", "start_server"]


class _QuietServer(ThreadingHTTPServer):
    """Says nothing when a client hangs up mid-answer (tests do that on purpose); other errors print as usual."""

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Ipv6Server(_QuietServer):
    address_family = socket.AF_INET6


def start_server(
    handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> ThreadingHTTPServer:
    """Serve ``handler`` on ``host`` and ``port`` (any free one by default) in a daemon thread, over https with
    ``tls``; stop it with ``shutdown()`` and ``server_close()``."""
    server = (_Ipv6Server if ":" in host else _QuietServer)((host, port), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free 127.0.0.1 port while the block runs; yields its base URL."""
    server = start_server(handler)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class LoopbackServer:
    """A server whose :meth:`handle` answers every request of the ``methods`` it serves; ``origin`` is its base URL."""

    methods: ClassVar[tuple[str, ...]] = ("GET",)

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

        def answer(request: BaseHTTPRequestHandler) -> None:
            server.handle(request)

        for method in self.methods:
            setattr(Handler, f"do_{method}", answer)
        self.server = start_server(Handler, host=host, port=port, tls=tls)
        shown_host = f"[{host}]" if ":" in host else host
        self.origin = f"{'https' if tls else 'http'}://{shown_host}:{self.server.server_address[1]}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one request."""
        raise NotImplementedError

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class LoopbackUpstream(LoopbackServer):
    """A package index upstream: ``url`` is its simple index."""

    @property
    def url(self) -> str:
        return f"{self.origin}/simple/"


def send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    """Answer ``request`` with ``body``."""
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def relay(request: BaseHTTPRequestHandler, answer: httpx.Response, hop_by_hop: Collection[str]) -> None:
    """Answer ``request`` with what another server answered, without its ``hop_by_hop`` headers."""
    request.send_response(answer.status_code)
    for name, value in answer.headers.items():
        if name.lower() not in hop_by_hop:
            request.send_header(name, value)
    request.send_header("Content-Length", str(len(answer.content)))
    request.end_headers()
    request.wfile.write(answer.content)
