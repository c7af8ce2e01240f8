"""A webhook receiver on 127.0.0.1 that records each post's ``Idempotency-Key`` and can hold posts open.

Posts whose body mentions ``hold_word`` wait (without answering) until :meth:`release` is called, so a test can
kill the node that sent one mid-delivery. Every arrival is recorded; ``processed`` is what a receiver that
de-duplicates by key would act on (one entry per key).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Arrival", "KeyedWebhookReceiver"]


@dataclass(frozen=True)
class Arrival:
    """One POST as received."""

    key: str
    title: str


class KeyedWebhookReceiver:
    """Counts deliveries per idempotency key; holds posts mentioning ``hold_word`` until released."""

    def __init__(self, hold_word: str = "victim-") -> None:
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                title = str(json.loads(body or b"{}").get("embeds", [{}])[0].get("title", ""))
                with receiver._lock:
                    receiver.arrivals.append(Arrival(self.headers.get("Idempotency-Key", ""), title))
                if hold_word in title:
                    receiver._released.wait(60)
                try:
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return  # the sender died while its post was held

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> KeyedWebhookReceiver:
        self._thread.start()
        return self

    def release(self) -> None:
        """Answer every held post, and every later one at once."""
        self._released.set()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> list[Arrival]:
        with self._lock:
            return list(self.arrivals)

    def keys_by_title(self) -> dict[str, set[str]]:
        """Every idempotency key seen for each message title."""
        found: dict[str, set[str]] = {}
        for arrival in self.snapshot():
            found.setdefault(arrival.title, set()).add(arrival.key)
        return found
