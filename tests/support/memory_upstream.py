"""An in-process ``UpstreamIndex`` with fixed project pages and file bodies, and faults scripted per request.

For unit tests of the mirror use cases; the HTTP behaviour of the real upstream client is proven against a real
server by ``tests/support/fault_upstream.py`` and the e2e mirror tests.
"""

from __future__ import annotations

import hashlib
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyregistry_application.mirror_ports import UpstreamFile, UpstreamProject, UpstreamStream
from pyregistry_domain.errors import NotFound, UpstreamUnavailable

__all__ = ["FILES_URL", "MemoryUpstream"]

FILES_URL = "https://files.example/packages/"
CHUNK = 512


def _wheel_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name)


class MemoryUpstream:
    """Serves :meth:`serve`-d projects; ``faults[key]`` (a project name or a URL) is consumed one per request.

    Faults: ``"down"`` fails like an unreachable index, ``"truncate"`` breaks a download half-way, ``"corrupt"``
    flips a byte of a body, ``"crash"`` raises a non-domain error (a bug in an adapter). Opening a file waits for
    ``gate`` (set by default). ``requests`` counts requests per project name and URL.
    """

    def __init__(self) -> None:
        self.pages: dict[str, UpstreamProject] = {}
        self.bodies: dict[str, bytes] = {}
        self.faults: dict[str, list[str]] = {}
        self.requests: Counter[str] = Counter()
        self.gate = threading.Event()
        self.gate.set()
        self.closed = False
        self._lock = threading.Lock()

    def serve(
        self,
        name: str,
        dists: list[Path],
        *,
        yanked: dict[str, str] | None = None,
        extra: list[UpstreamFile] | None = None,
    ) -> UpstreamProject:
        """Publish a project page listing ``dists`` (wheels with PEP 658 metadata) and ``extra`` entries as given."""
        entries = []
        for dist in dists:
            data = dist.read_bytes()
            url = FILES_URL + dist.name
            self.bodies[url] = data
            metadata_sha256 = None
            if dist.suffix == ".whl":
                metadata = _wheel_metadata(dist)
                self.bodies[url + ".metadata"] = metadata
                metadata_sha256 = hashlib.sha256(metadata).hexdigest()
            reason = (yanked or {}).get(dist.name)
            entries.append(
                UpstreamFile(
                    filename=dist.name,
                    url=url,
                    sha256=hashlib.sha256(data).hexdigest().upper(),
                    requires_python=">=3.8",
                    yanked=reason is not None,
                    yanked_reason=reason or None,
                    metadata_sha256=metadata_sha256,
                    size=len(data),
                )
            )
        page = UpstreamProject(name=name, files=entries + list(extra or []))
        with self._lock:
            self.pages[name.lower()] = page
        return page

    def fail(self, key: str, *faults: str) -> None:
        """Queue ``faults`` for the next requests of ``key`` (a normalized project name or a URL)."""
        with self._lock:
            self.faults.setdefault(key, []).extend(faults)

    def _next(self, key: str) -> str | None:
        with self._lock:
            self.requests[key] += 1
            queued = self.faults.get(key)
            fault = queued.pop(0) if queued else None
        if fault == "down":
            raise UpstreamUnavailable(f"upstream answered 503 for {key}")
        if fault == "crash":
            raise RuntimeError(f"adapter bug while reading {key}")
        return fault

    def fetch_project(self, normalized_name: str) -> UpstreamProject:
        self._next(normalized_name)
        with self._lock:
            page = self.pages.get(normalized_name)
        if page is None:
            raise NotFound(f"upstream has no project {normalized_name!r}")
        return page

    def fetch_bytes(self, url: str) -> bytes:
        return self._body(url, self._next(url))

    def _body(self, url: str, fault: str | None) -> bytes:
        body = self.bodies.get(url)
        if body is None:
            raise NotFound(f"upstream has no file at {url}")
        if fault == "corrupt":
            return body[:-1] + bytes([body[-1] ^ 0xFF])
        return body

    @contextmanager
    def open_file(self, url: str) -> Iterator[UpstreamStream]:
        assert self.gate.wait(10), "the test never opened the gate"
        fault = self._next(url)
        body = self._body(url, fault)
        yield UpstreamStream(size=len(body), chunks=self._chunks(body, truncate=fault == "truncate"))

    @staticmethod
    def _chunks(body: bytes, *, truncate: bool) -> Iterator[bytes]:
        end = len(body) // 2 if truncate else len(body)
        for start in range(0, end, CHUNK):
            yield body[start : min(start + CHUNK, end)]
        if truncate:
            raise UpstreamUnavailable("the upstream connection was reset mid-download")

    def close(self) -> None:
        self.closed = True
