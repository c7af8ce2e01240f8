"""A TCP relay on 127.0.0.1 in front of a server that records every byte the server sent to its clients, to prove
what a client (pip, uv) actually received."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

__all__ = ["ByteRelay"]

_BUFFER = 64 * 1024


class ByteRelay:
    """Accepts connections on ``port`` and pipes each one to ``127.0.0.1:target_port``; ``received`` holds the
    concatenated server-to-client bytes of every connection (headers included)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._received = bytearray()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.port: int = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def received(self) -> bytes:
        """Every byte the server sent so far."""
        with self._lock:
            return bytes(self._received)

    def index_url(self, tenant: str, token: str) -> str:
        """The tenant's simple index through the relay."""
        return f"http://__token__:{token}@127.0.0.1:{self.port}/t/{tenant}/simple/"

    def stop(self) -> None:
        self._stopping.set()
        self._accepting.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> ByteRelay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._target_port))
            for source, sink, record in ((client, server, False), (server, client, True)):
                thread = threading.Thread(target=self._pipe, args=(source, sink, record), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pipe(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        source.settimeout(0.5)
        try:
            while not self._stopping.is_set():
                try:
                    data = source.recv(_BUFFER)
                except TimeoutError:
                    continue
                if not data:
                    break
                if record:
                    with self._lock:
                        self._received.extend(data)
                sink.sendall(data)
        except OSError:
            return
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
