"""The fastest a file can cross loopback HTTP here: a bare socket server that answers every GET with the file.

It parses nothing and checks nothing: it reads the file in 4 MiB chunks and ``sendall``s them (faster than
``socket.sendfile`` on this machine's loopback). Measuring it with the same client as the registries gives the
ceiling that any HTTP server on this machine could reach, which is a fairer yardstick than a page-cache read.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
from collections.abc import Iterator
from pathlib import Path

CHUNK = 4 * 1024 * 1024


def _serve_one(connection: socket.socket, path: Path) -> None:
    with connection:
        request = b""
        while b"\r\n\r\n" not in request:
            data = connection.recv(65536)
            if not data:
                return
            request += data
        size = path.stat().st_size
        connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n".encode())
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                connection.sendall(chunk)


def _serve_forever(listener: socket.socket, path: Path) -> None:
    while True:
        connection, _ = listener.accept()
        _serve_one(connection, path)


@contextlib.contextmanager
def loopback_file_server(path: Path) -> Iterator[int]:
    """Serve ``path`` from a separate process (no GIL shared with the client) on an ephemeral 127.0.0.1 port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = multiprocessing.get_context("fork").Process(target=_serve_forever, args=(listener, path), daemon=True)
    server.start()
    try:
        yield listener.getsockname()[1]
    finally:
        server.terminate()
        server.join()
        listener.close()
