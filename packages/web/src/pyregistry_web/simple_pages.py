"""Render PEP 503/691/700/792 project lists and project pages (HTML and JSON)."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote

import msgspec

from pyregistry_application.index import ProjectListing, ProjectPage
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.project_status import ProjectStatus

__all__ = ["project_status_json", "project_status_meta", "render_listing", "render_project"]

API_VERSION = "1.4"
"""PEP 792 project status markers need 1.4; the keys of 1.2 (PEP 708) and 1.3 (PEP 740) are optional."""
SIZELESS_API_VERSION = "1.0"
"""Declared by a JSON project page listing a file of unknown size: PEP 700 (1.1) makes ``size`` required.
A page whose project has a status other than active still declares 1.4, so installers read the marker."""
_encoder = msgspec.json.Encoder()
_URL_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")
"""What ``quote`` leaves as it is: most names, versions and filenames skip it."""
_HTML_SPECIAL = re.compile(r"[&<>\"']")
"""What ``html.escape`` replaces: a root index whose names have none of these is not escaped name by name."""


def _quoted(text: str) -> str:
    return text if _URL_PLAIN.fullmatch(text) else quote(text)


def _file_path(file: ReleaseFile, up: str, kind: str = "files") -> str:
    return f"{up}{kind}/{_quoted(file.normalized_name)}/{_quoted(file.version)}/{_quoted(file.filename)}"


def _upload_time(file: ReleaseFile) -> str:
    """``uploaded_at`` (UTC) as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return file.uploaded_at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class _JsonProject(msgspec.Struct, frozen=True):
    name: str


class _CoreMetadata(msgspec.Struct, frozen=True):
    sha256: str


class _Hashes(msgspec.Struct, frozen=True):
    sha256: str


class _JsonFile(msgspec.Struct, frozen=True, rename="kebab"):
    """One ``files`` entry of a PEP 691 project page; unset keys are left out."""

    filename: str
    url: str
    hashes: _Hashes
    requires_python: str | None
    yanked: bool | str
    upload_time: str
    size: int | msgspec.UnsetType = msgspec.UNSET
    core_metadata: _CoreMetadata | msgspec.UnsetType = msgspec.UNSET
    provenance: str | msgspec.UnsetType = msgspec.UNSET


def _json_file(file: ReleaseFile, up: str) -> _JsonFile:
    return _JsonFile(
        filename=file.filename,
        url=_file_path(file, up),
        hashes=_Hashes(file.sha256),
        requires_python=file.requires_python,
        yanked=_yanked_json(file),
        upload_time=_upload_time(file),
        size=file.size if file.size_known else msgspec.UNSET,
        core_metadata=_CoreMetadata(file.metadata_sha256) if file.metadata_sha256 else msgspec.UNSET,
        provenance=_file_path(file, up, "provenance") if file.has_provenance else msgspec.UNSET,
    )


def render_listing(listing: ProjectListing, as_json: bool) -> bytes:
    """The tenant root index."""
    if as_json:
        return _encoder.encode(
            {
                "meta": {"api-version": API_VERSION},
                "projects": [_JsonProject(project.name) for project in listing.projects],
            }
        )
    projects = listing.projects
    hrefs = [project.normalized_name for project in projects]
    names = [project.name for project in projects]
    if not _URL_PLAIN.fullmatch("".join(hrefs)):
        hrefs = [_quoted(href) for href in hrefs]
    if _HTML_SPECIAL.search("".join(names)):
        names = [escape(name) for name in names]
    rows = "".join([f'    <a href="{href}/">{name}</a>\n' for href, name in zip(hrefs, names, strict=True)])
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>Simple index of {escape(listing.tenant.slug)}</title>\n  </head>\n  <body>\n"
        f"{rows}  </body>\n</html>\n"
    ).encode()


def _yanked_json(file: ReleaseFile) -> bool | str:
    if not file.yanked:
        return False
    return file.yanked_reason or True


def project_status_json(status: ProjectStatus) -> dict[str, str]:
    """The PEP 792 ``project-status`` object: ``status``, and ``reason`` when one was given."""
    return {"status": status.kind.value, **({"reason": status.reason} if status.reason else {})}


def project_status_meta(status: ProjectStatus) -> str:
    """The PEP 792 ``pypi:project-status`` (and ``-reason``) meta tags of an HTML project page."""
    tags = f'    <meta name="pypi:project-status" content="{status.kind.value}">\n'
    if status.reason:
        tags += f'    <meta name="pypi:project-status-reason" content="{escape(status.reason)}">\n'
    return tags


def _project_api_version(page: ProjectPage) -> str:
    if page.status.is_active and not all(file.size_known for file in page.files):
        return SIZELESS_API_VERSION
    return API_VERSION


def render_project(page: ProjectPage, as_json: bool, up: str = "../../") -> bytes:
    """A project page with hashes, requires-python, yanked, core metadata, size and upload time.

    A mirrored file whose size is not known yet (an HTML upstream, not downloaded) has no ``size`` key, and its
    JSON page declares API version 1.0 rather than claim a size of 0; pip and uv accept such pages.
    The legacy ``dist-info-metadata`` name appears only in HTML (PEP 714): pip 23.0.x crashes on it in JSON.
    ``up`` leads from the page's URL to the tenant root, where ``files/`` and ``provenance/`` are.
    """
    if as_json:
        files = [_json_file(file, up) for file in page.files]
        return _encoder.encode(
            {
                "meta": {"api-version": _project_api_version(page)},
                "name": page.project.normalized_name,
                "project-status": project_status_json(page.status),
                "versions": page.versions,
                "files": files,
            }
        )
    anchors = []
    for file in page.files:
        attributes = [f'href="{escape(_file_path(file, up))}#sha256={file.sha256}"']
        if file.requires_python:
            attributes.append(f'data-requires-python="{escape(file.requires_python)}"')
        if file.yanked:
            attributes.append(f'data-yanked="{escape(file.yanked_reason or "")}"')
        if file.metadata_sha256:
            attributes.append(f'data-core-metadata="sha256={file.metadata_sha256}"')
            attributes.append(f'data-dist-info-metadata="sha256={file.metadata_sha256}"')
        if file.has_provenance:
            attributes.append(f'data-provenance="{escape(_file_path(file, up, "provenance"))}"')
        anchors.append(f"    <a {' '.join(attributes)}>{escape(file.filename)}</a><br>\n")
    name = escape(page.project.normalized_name)
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"{project_status_meta(page.status)}"
        f"    <title>Links for {name}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {name}</h1>\n{''.join(anchors)}  </body>\n</html>\n"
    ).encode()
