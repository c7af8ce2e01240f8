"""A PEP 503/691 index (devpi, pypiserver, another pyregistry tenant, any Simple API) as an import source.

JSON pages are preferred (they carry PEP 700 ``upload-time`` and PEP 592 yanks); HTML pages are read otherwise
(``data-yanked``, no upload time). Credentials, from the URL or given separately, are only ever sent to the
index's own origin.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import msgspec

from pyregistry_application.import_ports import SourceFile
from pyregistry_application.mirror_ports import UpstreamProject
from pyregistry_domain.errors import UpstreamUnavailable, ValidationFailed
from pyregistry_domain.names import normalize_project_name
from pyregistry_infrastructure.upstream.simple_parsing import parse_project_html, parse_project_json, parse_root_html
from pyregistry_infrastructure.upstream.urls import origin_of, without_credentials

__all__ = ["IndexSource"]

_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
_JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_CHUNK = 256 * 1024


def _root_projects(response: httpx.Response) -> list[tuple[str, str]]:
    """``(name, page URL)`` for every project the root page lists."""
    base = str(response.url)
    if response.headers.get("content-type", "").startswith(_JSON_TYPE):
        data = msgspec.json.decode(response.content)
        projects = data.get("projects", []) if isinstance(data, dict) else []
        return [
            (entry["name"], urljoin(base, f"{normalize_project_name(entry['name'])}/"))
            for entry in projects
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        ]
    return parse_root_html(response.text, base)


def _upload_times(body: bytes) -> dict[str, datetime]:
    data: Any = msgspec.json.decode(body)
    times: dict[str, datetime] = {}
    for entry in data.get("files", []) if isinstance(data, dict) else []:
        stamp = entry.get("upload-time") if isinstance(entry, dict) else None
        if isinstance(stamp, str) and isinstance(entry.get("filename"), str):
            try:
                times[entry["filename"]] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            except ValueError:
                continue
    return times


class IndexSource:
    """Reads the root page, then every project page, then downloads each file when it is imported."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None, timeout: float = 60) -> None:
        parts = urlsplit(url)
        try:
            self._origin = origin_of(url)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        user = username if username is not None else unquote(parts.username or "") or None
        secret = password if password is not None else unquote(parts.password or "") or None
        self._auth = httpx.BasicAuth(user or "", secret or "") if (user or secret) else None
        self._url = without_credentials(url if url.endswith("/") else url + "/")
        self._client = httpx.Client(timeout=timeout, follow_redirects=True, headers={"Accept": _ACCEPT})

    @property
    def description(self) -> str:
        return f"index {self._url}"

    def _get(self, url: str) -> httpx.Response:
        auth = self._auth if origin_of(url) == self._origin else None
        try:
            response = self._client.get(url, auth=auth)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"{without_credentials(url)}: {exc}") from None
        if response.status_code != httpx.codes.OK:
            raise UpstreamUnavailable(f"{without_credentials(url)} answered HTTP {response.status_code}")
        return response

    def list_files(self) -> Iterator[SourceFile]:
        for name, page_url in _root_projects(self._get(self._url)):
            response = self._get(page_url)
            url = str(response.url)
            times: dict[str, datetime] = {}
            project: UpstreamProject
            if response.headers.get("content-type", "").startswith(_JSON_TYPE):
                project = parse_project_json(response.content, url, name)
                times = _upload_times(response.content)
            else:
                project = parse_project_html(response.text, url, name)
            for file in project.files:
                yield SourceFile(
                    filename=file.filename,
                    location=file.url,
                    uploaded_at=times.get(file.filename),
                    sha256=file.sha256,
                    yanked=file.yanked,
                    yanked_reason=file.yanked_reason,
                )

    @contextmanager
    def fetch(self, file: SourceFile, scratch: Path) -> Iterator[Path]:
        auth = self._auth if origin_of(file.location) == self._origin else None
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            target = Path(folder) / file.filename
            try:
                with self._client.stream("GET", file.location, auth=auth) as response:
                    if response.status_code != httpx.codes.OK:
                        raise UpstreamUnavailable(f"{file.location} answered HTTP {response.status_code}")
                    with target.open("wb") as out:
                        for chunk in response.iter_bytes(_CHUNK):
                            out.write(chunk)
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(f"{file.location}: {exc}") from None
            yield target

    def close(self) -> None:
        self._client.close()
