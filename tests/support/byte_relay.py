"""A TCP relay on 127.0.0.1 in front of a server that records every byte the server sent to its clients, to prove
what a client (pip, uv) actually received."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress

__all__ = ["ByteRelay"]

_BUFFER = 64 * 1024


class ByteRelay:
    """Accepts connections on ``port`` and pipes each one to ``127.0.0.1:target_port``, recording what the server
    sent on each connection (headers included)."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._connections: list[bytearray] = []
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
        """Every byte the server sent so far, connection after connection."""
        with self._lock:
            return b"".join(bytes(sent) for sent in self._connections)

    def response_bodies(self) -> list[tuple[int, bytes]]:
        """``(status, body bytes the client got)`` of every HTTP/1.1 response, in order; a response cut short
        (its connection closed before ``Content-Length`` bytes) has the part that arrived."""
        with self._lock:
            streams = [bytes(sent) for sent in self._connections]
        responses: list[tuple[int, bytes]] = []
        for stream in streams:
            position = 0
            while position < len(stream):
                head_end = stream.find(b"\r\n\r\n", position)
                if head_end < 0:
                    break
                head = stream[position:head_end].decode("latin-1").split("\r\n")
                length = next(
                    (int(line.split(":", 1)[1]) for line in head[1:] if line.lower().startswith("content-length:")), 0
                )
                body = stream[head_end + 4 : head_end + 4 + length]
                responses.append((int(head[0].split()[1]), body))
                position = head_end + 4 + length
        return responses

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
            sent = bytearray()
            with self._lock:
                self._connections.append(sent)
            for source, sink, record in ((client, server, None), (server, client, sent)):
                thread = threading.Thread(target=self._pipe, args=(source, sink, record), daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pipe(self, source: socket.socket, sink: socket.socket, record: bytearray | None) -> None:
        source.settimeout(0.5)
        try:
            while not self._stopping.is_set():
                try:
                    data = source.recv(_BUFFER)
                except TimeoutError:
                    continue
                if not data:
                    break
                if record is not None:
                    with self._lock:
                        record.extend(data)
                sink.sendall(data)
        except OSError:
            return
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()
