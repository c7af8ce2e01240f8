"""A real HTTP webhook receiver on 127.0.0.1 that records every JSON body it is sent."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["WebhookReceiver"]


class WebhookReceiver:
    """Collects POSTed JSON; answers 500 or stalls when the body mentions a configured word.

    A body mentioning ``hang_on`` gets a 200 whose body trickles out one byte every half second for ``hang_seconds``:
    every read is quick, so only an overall deadline stops a client from waiting for all of it.
    """

    def __init__(
        self,
        fail_on: str = "fail-hook",
        stall_on: str = "slow-hook",
        stall_seconds: float = 5,
        hang_on: str = "hang-hook",
        hang_seconds: float = 20,
    ) -> None:
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                text = body.decode("utf-8", errors="replace")
                if stall_on in text:
                    time.sleep(stall_seconds)
                with receiver._lock:
                    receiver.received.append({"path": self.path, "json": json.loads(body or b"{}")})
                if hang_on in text:
                    self._trickle(int(hang_seconds * 2))
                    return
                status = 500 if fail_on in text else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _trickle(self, count: int) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(count))
                self.end_headers()
                try:
                    for _ in range(count):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(0.5)
                except OSError:
                    return  # the client gave up

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def titles(self, path: str) -> list[str]:
        with self._lock:
            return [m["json"]["embeds"][0]["title"] for m in self.received if m["path"] == path]

    def wait_for(self, path: str, count: int, timeout: float = 15) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            titles = self.titles(path)
            if len(titles) >= count:
                return titles
            time.sleep(0.05)
        return self.titles(path)
