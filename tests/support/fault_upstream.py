"""A PEP 691 upstream on 127.0.0.1 whose projects misbehave on purpose, to prove the mirror's robustness rules."""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.support.loopback_server import LoopbackUpstream

__all__ = ["FaultyProject", "FaultyUpstream"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class FaultyProject:
    """One upstream project: a wheel (plus ``more_wheels``) and how its page and file requests fail.

    ``page_faults``/``file_faults`` are consumed one per request (``None`` = answer normally):
    an int is that HTTP status, ``"429"`` adds ``Retry-After: 1``, ``"hang"`` sleeps past the timeout,
    ``"truncate"`` sends half the body, ``"drip"`` sends the body ``drip_bytes`` every ``drip_seconds``,
    ``"chunked"`` sends it with chunked transfer coding (no Content-Length), ``"down"`` is a permanent 503.
    ``file_seconds`` holds every file download open that long before its body; ``yanked`` (a reason, or ``""``)
    marks the files yanked on the page. ``file_location`` is a URL the page lists for the wheel instead of this
    server's own, and ``redirect_files_to`` a base URL its file requests are redirected to (302), as a hostile
    upstream would; ``/moved/...`` serves ``/...`` without redirecting (a same-origin redirect target).
    ``upload_times`` gives files (by name) a PEP 700 ``upload-time`` on the page; others have none.
    """

    wheel: Path
    more_wheels: list[Path] = field(default_factory=list)
    page_faults: list[object] = field(default_factory=list)
    file_faults: list[object] = field(default_factory=list)
    serve_wrong_bytes: bool = False
    page_padding: int = 0
    always_down: bool = False
    file_seconds: float = 0.0
    yanked: str | None = None
    file_location: str | None = None
    redirect_files_to: str | None = None
    upload_times: dict[str, str] = field(default_factory=dict)

    @property
    def wheels(self) -> list[Path]:
        """Every file the page lists."""
        return [self.wheel, *self.more_wheels]


class FaultyUpstream(LoopbackUpstream):
    """Threaded HTTP server on ``host`` (``127.0.0.1``, or ``::1``) and ``port`` (or any free one), speaking https
    with ``tls``; ``hits`` counts requests per path and ``most_concurrent_files`` the most file downloads it served
    at once."""

    def __init__(
        self,
        hang_seconds: float = 5.0,
        drip_seconds: float = 0.1,
        port: int = 0,
        drip_bytes: int = 16,
        *,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.projects: dict[str, FaultyProject] = {}
        self.hits: Counter[str] = Counter()
        self.concurrent_files = 0
        self.most_concurrent_files = 0
        self.hang_seconds = hang_seconds
        self.drip_seconds = drip_seconds
        self.drip_bytes = drip_bytes
        self.lock = threading.Lock()
        super().__init__(host=host, port=port, tls=tls)

    def add(self, name: str, project: FaultyProject) -> None:
        with self.lock:
            self.projects[name] = project

    def _next_fault(self, faults: list[object]) -> object:
        with self.lock:
            return faults.pop(0) if faults else None

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?")[0]
        with self.lock:
            self.hits[path] += 1
        moved = path.startswith("/moved/")
        path = path.removeprefix("/moved")
        parts = [part for part in path.split("/") if part]
        project = self.projects.get(parts[1]) if len(parts) >= 2 else None
        if project is None:
            self._send(request, 404, b"not found", "text/plain")
            return
        if parts[0] == "simple":
            fault = "down" if project.always_down else self._next_fault(project.page_faults)
            if self._fault(request, fault):
                return
            self._send(request, 200, self._page(parts[1], project), JSON_TYPE, drip=fault == "drip")
            return
        wheel = next((wheel for wheel in project.wheels if wheel.name == parts[-1]), None)
        if wheel is None:
            self._send(request, 404, b"not found", "text/plain")
            return
        if project.redirect_files_to is not None and not moved:
            request.send_response(302)
            request.send_header("Location", project.redirect_files_to + path)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        fault = "down" if project.always_down else self._next_fault(project.file_faults)
        with self.lock:
            self.concurrent_files += 1
            self.most_concurrent_files = max(self.most_concurrent_files, self.concurrent_files)
        try:
            self._file(request, project, wheel, fault)
        finally:
            with self.lock:
                self.concurrent_files -= 1

    def _file(self, request: BaseHTTPRequestHandler, project: FaultyProject, wheel: Path, fault: object) -> None:
        if self._fault(request, fault):
            return
        time.sleep(project.file_seconds)
        body = wheel.read_bytes()
        if project.serve_wrong_bytes:
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        if fault == "truncate":
            request.send_response(200)
            request.send_header("Content-Type", "application/zip")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body[: len(body) // 2])
            request.wfile.flush()
            request.close_connection = True
            return
        if fault == "chunked":
            request.send_response(200)
            request.send_header("Content-Type", "application/zip")
            request.send_header("Transfer-Encoding", "chunked")
            request.end_headers()
            try:
                for start in range(0, len(body), 8192):
                    piece = body[start : start + 8192]
                    request.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                request.wfile.write(b"0\r\n\r\n")
            except OSError:
                request.close_connection = True
            return
        self._send(request, 200, body, "application/zip", drip=fault == "drip")

    def _page(self, name: str, project: FaultyProject) -> bytes:
        files = []
        for wheel in project.wheels:
            data = wheel.read_bytes()
            stamp = project.upload_times.get(wheel.name)
            files.append(
                {
                    **({"upload-time": stamp} if stamp else {}),
                    "filename": wheel.name,
                    "url": (project.file_location if wheel == project.wheel else None)
                    or f"../../files/{name}/{wheel.name}",
                    "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                    "requires-python": ">=3.8",
                    "size": len(data),
                    "yanked": False if project.yanked is None else (project.yanked or True),
                }
            )
        page = {"meta": {"api-version": "1.1"}, "name": name, "files": files, "padding": "x" * project.page_padding}
        return json.dumps(page).encode()

    def _fault(self, request: BaseHTTPRequestHandler, fault: object) -> bool:
        if fault is None or fault in {"truncate", "drip", "chunked"}:
            return False
        if fault == "hang":
            time.sleep(self.hang_seconds)
            self._send(request, 200, b"{}", JSON_TYPE)
            return True
        if fault == "429":
            request.send_response(429)
            request.send_header("Retry-After", "1")
            request.send_header("Content-Length", "0")
            request.end_headers()
            return True
        status = 503 if fault == "down" else int(fault)  # type: ignore[call-overload]
        self._send(request, status, b"failure", "text/plain")
        return True

    def _send(
        self, request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, *, drip: bool = False
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        try:
            if not drip:
                request.wfile.write(body)
                return
            for start in range(0, len(body), self.drip_bytes):
                request.wfile.write(body[start : start + self.drip_bytes])
                request.wfile.flush()
                time.sleep(self.drip_seconds)
        except OSError:
            request.close_connection = True
