"""Parse PEP 691 JSON and PEP 503 HTML project pages into ``UpstreamProject`` values."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import msgspec

from pyregistry_application.mirror_ports import UpstreamFile, UpstreamProject
from pyregistry_infrastructure.upstream.urls import without_credentials

__all__ = ["parse_project_html", "parse_project_json", "parse_root_html"]

_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


def _clean_url(base: str, href: str) -> str | None:
    """``href`` made absolute, without fragment or credentials (credentials are re-added per request by the
    client); ``None`` when it is malformed (a bad port or IPv6 literal, control characters or inner spaces)."""
    href = href.strip()
    if _UNSENDABLE.search(href):
        return None
    try:
        return without_credentials(urldefrag(urljoin(base, href))[0])
    except ValueError:
        return None


def _sha256(value: str | None) -> str | None:
    return value.lower() if value and _SHA256_RE.match(value) else None


def _metadata_hash(value: Any) -> str | None:
    if isinstance(value, dict):
        return _sha256(value.get("sha256"))
    if isinstance(value, str) and value.startswith("sha256="):
        return _sha256(value[len("sha256=") :])
    return None


def _upload_time(value: Any) -> datetime | None:
    """A PEP 700 ``upload-time`` (ISO 8601, UTC); ``None`` when absent or malformed (treated as unknown)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_project_json(body: bytes, page_url: str, fallback_name: str) -> UpstreamProject:
    """A PEP 691 project page; files without a sha256 are skipped (they could not be verified)."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ValueError("JSON page has no 'files' list")
    files = []
    for entry in data["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        raw_hashes = entry.get("hashes")
        hashes = raw_hashes if isinstance(raw_hashes, dict) else {}
        sha256 = _sha256(hashes.get("sha256"))
        filename = entry.get("filename")
        url = _clean_url(page_url, entry["url"])
        if sha256 is None or not isinstance(filename, str) or url is None:
            continue
        yanked = entry.get("yanked", False)
        metadata = entry.get("core-metadata", entry.get("dist-info-metadata"))
        requires_python = entry.get("requires-python")
        size = entry.get("size")
        provenance = entry.get("provenance")
        files.append(
            UpstreamFile(
                filename=filename,
                url=url,
                sha256=sha256,
                requires_python=requires_python if isinstance(requires_python, str) and requires_python else None,
                yanked=bool(yanked),
                yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
                metadata_sha256=_metadata_hash(metadata),
                size=size if isinstance(size, int) and size >= 0 else None,
                upload_time=_upload_time(entry.get("upload-time")),
                provenance_url=_clean_url(page_url, provenance) if isinstance(provenance, str) and provenance else None,
            )
        )
    name = data.get("name")
    return UpstreamProject(name=name if isinstance(name, str) and name else fallback_name, files=files)


class _AnchorCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self._current = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def parse_project_html(body: str, page_url: str, fallback_name: str) -> UpstreamProject:
    """A PEP 503 page with ``#sha256=`` fragments, data-requires-python, data-yanked, data-core-metadata."""
    collector = _AnchorCollector()
    collector.feed(body)
    collector.close()
    base = urljoin(page_url, collector.base) if collector.base else page_url
    files = []
    for attrs, text in collector.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url = _clean_url(base, href)
        if url is None:
            continue
        _, fragment = urldefrag(href)
        algorithm, _, digest = fragment.partition("=")
        sha256 = _sha256(digest) if algorithm == "sha256" else None
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or text
        if sha256 is None or not filename:
            continue
        yanked = "data-yanked" in attrs
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        provenance = attrs.get("data-provenance")
        files.append(
            UpstreamFile(
                filename=filename,
                url=url,
                sha256=sha256,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                yanked_reason=(attrs.get("data-yanked") or None) if yanked else None,
                metadata_sha256=_metadata_hash(metadata),
                provenance_url=_clean_url(base, provenance) if provenance else None,
            )
        )
    return UpstreamProject(name=fallback_name, files=files)


def parse_root_html(body: str, page_url: str) -> list[tuple[str, str]]:
    """``(project name, absolute page URL)`` for every link of a PEP 503 root page."""
    collector = _AnchorCollector()
    collector.feed(body)
    collector.close()
    base = urljoin(page_url, collector.base) if collector.base else page_url
    return [(text, urljoin(base, href)) for attrs, text in collector.anchors if (href := attrs.get("href")) and text]
