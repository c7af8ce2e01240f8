"""A small threaded HTTP CONNECT proxy on 127.0.0.1 that records which hosts it tunnelled to."""

from __future__ import annotations

import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ConnectProxy"]

_BUFFER = 64 * 1024


class ConnectProxy:
    """Answers ``CONNECT host:port`` by piping bytes both ways; ``connected`` lists each ``host:port`` in order.

    Anything but CONNECT gets 405 (this proxy only tunnels, as egress proxies do for https).
    """

    def __init__(self) -> None:
        self.connected: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_CONNECT(self) -> None:
                proxy.tunnel(self)

            def do_GET(self) -> None:
                self.send_response(405)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ConnectProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def tunnel(self, request: BaseHTTPRequestHandler) -> None:
        host, _, port = request.path.rpartition(":")
        with self._lock:
            self.connected.append(request.path)
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            request.send_response(502)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        request.send_response(200, "Connection established")
        request.end_headers()
        request.wfile.flush()
        client = request.connection
        with upstream:
            sockets = [client, upstream]
            while True:
                readable, _, broken = select.select(sockets, [], sockets, 10)
                if broken or not readable:
                    break
                if not self._relay(readable, client, upstream):
                    break
        request.close_connection = True

    @staticmethod
    def _relay(readable: list[socket.socket], client: socket.socket, upstream: socket.socket) -> bool:
        for source in readable:
            data = source.recv(_BUFFER)
            if not data:
                return False
            (upstream if source is client else client).sendall(data)
        return True
