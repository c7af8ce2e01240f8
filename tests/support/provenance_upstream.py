"""A loopback PEP 691 upstream serving distributions with PEP 740 provenance (an integrity API as PyPI's).

Each file's JSON entry carries ``provenance`` (PEP 740), the URL of ``/integrity/{project}/{version}/{filename}/
provenance``; a file added without provenance has ``"provenance": null``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote

__all__ = ["ProvenanceUpstream"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class _Listed:
    path: Path
    version: str
    provenance: bytes | None


class ProvenanceUpstream:
    """Threaded HTTP server on 127.0.0.1; :meth:`add` lists a file (with or without a provenance object)."""

    def __init__(self) -> None:
        self.projects: dict[str, list[_Listed]] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                upstream.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{self.origin}/simple/"

    def add(self, project: str, path: Path, version: str, provenance: dict[str, Any] | bytes | None) -> None:
        """List ``path`` as a file of ``project`` ``version``, with ``provenance`` (an object or raw bytes)."""
        body = json.dumps(provenance).encode() if isinstance(provenance, dict) else provenance
        with self.lock:
            self.projects.setdefault(project, []).append(_Listed(path, version, body))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ProvenanceUpstream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(request.path.split("?")[0])
        with self.lock:
            self.hits[path] += 1
            projects = {name: list(files) for name, files in self.projects.items()}
        parts = [part for part in path.split("/") if part]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in projects:
            self._send(request, 200, self._page(parts[1], projects[parts[1]]), JSON_TYPE)
            return
        if len(parts) == 3 and parts[0] == "files" and parts[1] in projects:
            for listed in projects[parts[1]]:
                if listed.path.name == parts[2]:
                    self._send(request, 200, listed.path.read_bytes(), "application/octet-stream")
                    return
        if len(parts) == 5 and parts[0] == "integrity" and parts[4] == "provenance" and parts[1] in projects:
            for listed in projects[parts[1]]:
                if listed.path.name == parts[3] and listed.provenance is not None:
                    self._send(request, 200, listed.provenance, "application/vnd.pypi.integrity.v1+json")
                    return
        self._send(request, 404, b"not found", "text/plain")

    def _page(self, project: str, files: list[_Listed]) -> bytes:
        entries = []
        for listed in files:
            data = listed.path.read_bytes()
            entries.append(
                {
                    "filename": listed.path.name,
                    "url": f"{self.origin}/files/{project}/{listed.path.name}",
                    "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                    "size": len(data),
                    "provenance": (
                        f"{self.origin}/integrity/{project}/{listed.version}/{listed.path.name}/provenance"
                        if listed.provenance is not None
                        else None
                    ),
                }
            )
        return json.dumps({"meta": {"api-version": "1.3"}, "name": project, "files": entries}).encode()

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
