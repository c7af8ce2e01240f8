"""Downloading a wheel from the configured upstream index (``[pypi].base_url``) for an audit."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx

from pyregistry_domain.errors import NotFound, PayloadTooLarge, UpstreamUnavailable
from pyregistry_domain.names import normalize_project_name

__all__ = ["UpstreamWheelFetcher"]

_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class UpstreamWheelFetcher:
    """Implements ``WheelFetcher`` with the PEP 691 JSON Simple API of ``base_url``.

    Credentials in ``base_url`` (``https://user:secret@host/``) are sent as Basic auth and kept out of logs.
    """

    def __init__(self, base_url: str, timeout_seconds: float = 30, max_bytes: int = 100 * 1024 * 1024) -> None:
        parts = urlsplit(base_url)
        self._auth = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        self._base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/", "", ""))
        self._timeout = timeout_seconds
        self._max_bytes = max_bytes

    def fetch(self, project: str, filename: str, target_dir: Path) -> Path:
        """Find ``filename`` on the project page and stream it to ``target_dir``."""
        if "/" in filename or "\\" in filename or not filename.endswith(".whl"):
            raise NotFound(f"{filename!r} is not a wheel file name")
        page_url = urljoin(self._base, f"simple/{normalize_project_name(project)}/")
        try:
            with httpx.Client(timeout=self._timeout, follow_redirects=True) as client:
                page = client.get(page_url, headers={"Accept": _SIMPLE_JSON}, auth=self._auth_for(page_url))
                if page.status_code == 404:
                    raise NotFound(f"project {project!r} not found upstream at {self._base}")
                page.raise_for_status()
                files = {f.get("filename"): f.get("url") for f in page.json().get("files", [])}
                if filename not in files:
                    raise NotFound(f"{filename!r} is not a file of {project!r} upstream and not a local file")
                return self._download(client, urljoin(page_url, files[filename]), target_dir / filename)
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamUnavailable(f"cannot download {filename!r} from {self._base}: {exc}") from None

    def _auth_for(self, url: str) -> tuple[str, str] | httpx.Auth | None:
        """The configured credentials, only for the upstream's own origin (never for a CDN elsewhere)."""
        base, target = urlsplit(self._base), urlsplit(url)
        if self._auth is None or (base.scheme, base.netloc) != (target.scheme, target.netloc):
            return None
        return self._auth

    def _download(self, client: httpx.Client, url: str, target: Path) -> Path:
        written = 0
        with client.stream("GET", url, auth=self._auth_for(url)) as response:
            response.raise_for_status()
            with target.open("wb") as handle:
                for chunk in response.iter_bytes():
                    written += len(chunk)
                    if written > self._max_bytes:
                        raise PayloadTooLarge(f"{target.name} is larger than {self._max_bytes} bytes")
                    handle.write(chunk)
        return target
