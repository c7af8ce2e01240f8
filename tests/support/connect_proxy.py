"""A small threaded forward proxy on 127.0.0.1 (CONNECT tunnels and plain-http GETs) that records the hosts."""

from __future__ import annotations

import http.client
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.support.loopback_server import LoopbackServer

__all__ = ["ConnectProxy"]

_BUFFER = 64 * 1024


class ConnectProxy(LoopbackServer):
    """Answers ``CONNECT host:port`` by piping bytes both ways and ``GET http://host:port/path`` by forwarding it;
    ``connected`` lists each ``host:port`` in order. A GET of a relative path gets 405 (that is not a proxy request).
    """

    methods = ("CONNECT", "GET")

    def __init__(self) -> None:
        self.connected: list[str] = []
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        return self.origin

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        if request.command == "CONNECT":
            self.tunnel(request)
        else:
            self.forward(request)

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

    def forward(self, request: BaseHTTPRequestHandler) -> None:
        target = urlsplit(request.path)
        if target.scheme != "http" or not target.hostname:
            request.send_response(405)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        with self._lock:
            self.connected.append(target.netloc)
        headers = {name: value for name, value in request.headers.items() if name.lower() != "proxy-connection"}
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
        try:
            upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        request.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _relay(readable: list[socket.socket], client: socket.socket, upstream: socket.socket) -> bool:
        for source in readable:
            data = source.recv(_BUFFER)
            if not data:
                return False
            (upstream if source is client else client).sendall(data)
        return True
