"""Downloading a wheel from the configured upstream index (``[pypi].base_url``) for an audit."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from pyregistry_application.mirror_ports import UpstreamIndex
from pyregistry_domain.errors import NotFound, UpstreamUnavailable
from pyregistry_domain.names import normalize_project_name

__all__ = ["UpstreamWheelFetcher"]


class UpstreamWheelFetcher:
    """Implements ``WheelFetcher`` with the mirror's upstream client, so the same rules apply: allowed origins,
    CA bundle and proxy, credentials only for the upstream's origin, retries and the artifact size cap. The
    downloaded bytes must match the sha256 of the upstream project page."""

    def __init__(self, upstream: UpstreamIndex) -> None:
        self._upstream = upstream

    def fetch(self, project: str, filename: str, target_dir: Path) -> Path:
        """Find ``filename`` on the project page and stream it to ``target_dir``."""
        if "/" in filename or "\\" in filename or not filename.endswith(".whl"):
            raise NotFound(f"{filename!r} is not a wheel file name")
        try:
            page = self._upstream.fetch_project(normalize_project_name(project))
        except NotFound:
            raise NotFound(f"project {project!r} not found upstream") from None
        entry = next((file for file in page.files if file.filename == filename), None)
        if entry is None:
            raise NotFound(f"{filename!r} is not a file of {project!r} upstream and not a local file")
        target = target_dir / filename
        digest = hashlib.sha256()
        with self._upstream.open_file(entry.url) as stream, target.open("wb") as handle:
            for chunk in stream.chunks:
                digest.update(chunk)
                handle.write(chunk)
        if not hmac.compare_digest(digest.hexdigest(), entry.sha256.lower()):
            target.unlink()
            raise UpstreamUnavailable(f"upstream bytes of {filename!r} do not match the recorded sha256")
        return target
