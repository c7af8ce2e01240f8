"""The core metadata of a release as PyPI's JSON API ``info`` shows it, parsed from a stored METADATA/PKG-INFO."""

from __future__ import annotations

import email.message
import email.parser
import email.policy

import msgspec

from pyregistry_application.readme_extraction import readme_from_metadata

__all__ = ["ReleaseInfo", "release_info_from_metadata"]


class ReleaseInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The fields PyPI's ``info`` carries from core metadata; absent single fields are ``None``."""

    summary: str | None = None
    description: str | None = None
    description_content_type: str | None = None
    author: str | None = None
    author_email: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    license: str | None = None
    license_expression: str | None = None
    license_files: tuple[str, ...] = ()
    keywords: str | None = None
    classifiers: tuple[str, ...] = ()
    platform: str | None = None
    home_page: str | None = None
    download_url: str | None = None
    project_urls: dict[str, str] = msgspec.field(default_factory=dict)
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    provides_extra: tuple[str, ...] = ()
    dynamic: tuple[str, ...] = ()


def _single(message: email.message.Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _many(message: email.message.Message, name: str) -> tuple[str, ...]:
    return tuple(str(value).strip() for value in message.get_all(name) or () if str(value).strip())


def _project_urls(message: email.message.Message) -> dict[str, str]:
    """``Project-URL: label, url`` pairs; a bare URL is its own label."""
    urls: dict[str, str] = {}
    for entry in _many(message, "Project-URL"):
        label, _, url = entry.partition(",")
        urls[label.strip() if url else entry] = url.strip() if url else entry
    return urls


def release_info_from_metadata(raw: bytes) -> ReleaseInfo:
    """Parse a METADATA or PKG-INFO file (any metadata version); unknown fields are ignored."""
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(raw.decode("utf-8", errors="replace"))
    readme = readme_from_metadata(raw)
    return ReleaseInfo(
        summary=_single(message, "Summary"),
        description=readme.text if readme is not None else None,
        description_content_type=_single(message, "Description-Content-Type"),
        author=_single(message, "Author"),
        author_email=_single(message, "Author-email"),
        maintainer=_single(message, "Maintainer"),
        maintainer_email=_single(message, "Maintainer-email"),
        license=_single(message, "License"),
        license_expression=_single(message, "License-Expression"),
        license_files=_many(message, "License-File"),
        keywords=_single(message, "Keywords"),
        classifiers=_many(message, "Classifier"),
        platform=_single(message, "Platform"),
        home_page=_single(message, "Home-page"),
        download_url=_single(message, "Download-URL"),
        project_urls=_project_urls(message),
        requires_dist=_many(message, "Requires-Dist"),
        requires_python=_single(message, "Requires-Python"),
        provides_extra=_many(message, "Provides-Extra"),
        dynamic=_many(message, "Dynamic"),
    )
