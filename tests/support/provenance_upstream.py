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
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from tests.support.loopback_server import LoopbackUpstream, send

__all__ = ["ProvenanceUpstream"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class _Listed:
    path: Path
    version: str
    provenance: bytes | None


class ProvenanceUpstream(LoopbackUpstream):
    """Threaded HTTP server on 127.0.0.1; :meth:`add` lists a file (with or without a provenance object)."""

    def __init__(self) -> None:
        self.projects: dict[str, list[_Listed]] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        super().__init__()

    def add(self, project: str, path: Path, version: str, provenance: dict[str, Any] | bytes | None) -> None:
        """List ``path`` as a file of ``project`` ``version``, with ``provenance`` (an object or raw bytes)."""
        body = json.dumps(provenance).encode() if isinstance(provenance, dict) else provenance
        with self.lock:
            self.projects.setdefault(project, []).append(_Listed(path, version, body))

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path = unquote(request.path.split("?")[0])
        with self.lock:
            self.hits[path] += 1
            projects = {name: list(files) for name, files in self.projects.items()}
        parts = [part for part in path.split("/") if part]
        if len(parts) == 2 and parts[0] == "simple" and parts[1] in projects:
            send(request, 200, self._page(parts[1], projects[parts[1]]), JSON_TYPE)
            return
        if len(parts) == 3 and parts[0] == "files" and parts[1] in projects:
            for listed in projects[parts[1]]:
                if listed.path.name == parts[2]:
                    send(request, 200, listed.path.read_bytes(), "application/octet-stream")
                    return
        if len(parts) == 5 and parts[0] == "integrity" and parts[4] == "provenance" and parts[1] in projects:
            for listed in projects[parts[1]]:
                if listed.path.name == parts[3] and listed.provenance is not None:
                    send(request, 200, listed.provenance, "application/vnd.pypi.integrity.v1+json")
                    return
        send(request, 404, b"not found", "text/plain")

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
