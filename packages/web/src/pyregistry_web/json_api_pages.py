"""Render the PyPI-style JSON API (``/pypi/<project>/json``) that Renovate, Dependabot and scripts read."""

from __future__ import annotations

from urllib.parse import quote

import msgspec

from pyregistry_application.index import ProjectPage
from pyregistry_application.release_metadata import ReleaseInfo
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.latest import latest_version

__all__ = ["choose_latest_version", "render_project_json"]

_encoder = msgspec.json.Encoder()


def choose_latest_version(page: ProjectPage) -> str | None:
    """The version PyPI would call current: newest final release with an unyanked file, else newest at all."""
    return latest_version(page.versions, page.files)


def _python_version(file: ReleaseFile) -> str:
    if file.kind is DistributionKind.WHEEL:
        parts = file.filename[: -len(".whl")].split("-")
        return parts[-3] if len(parts) >= 5 else "py3"
    return "source"


def _file_json(file: ReleaseFile, base: str) -> dict[str, object]:
    path = f"{base}/files/{quote(file.normalized_name)}/{quote(file.version)}/{quote(file.filename)}"
    uploaded = file.uploaded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "filename": file.filename,
        "url": path,
        "digests": {"sha256": file.sha256},
        "size": file.size if file.size_known else None,
        "packagetype": "bdist_wheel" if file.kind is DistributionKind.WHEEL else "sdist",
        "python_version": _python_version(file),
        "requires_python": file.requires_python,
        "upload_time": uploaded[:19],
        "upload_time_iso_8601": uploaded,
        "yanked": file.yanked,
        "yanked_reason": file.yanked_reason,
        "has_sig": False,
    }


def _metadata_info(metadata: ReleaseInfo) -> dict[str, object]:
    """PyPI's ``info`` fields taken from core metadata (lists empty as ``null``, as PyPI answers)."""
    return {
        "author": metadata.author,
        "author_email": metadata.author_email,
        "classifiers": list(metadata.classifiers),
        "description": metadata.description,
        "description_content_type": metadata.description_content_type,
        "download_url": metadata.download_url,
        "dynamic": list(metadata.dynamic) or None,
        "home_page": metadata.home_page,
        "keywords": metadata.keywords,
        "license": metadata.license,
        "license_expression": metadata.license_expression,
        "license_files": list(metadata.license_files) or None,
        "maintainer": metadata.maintainer,
        "maintainer_email": metadata.maintainer_email,
        "platform": metadata.platform,
        "project_urls": metadata.project_urls or None,
        "provides_extra": list(metadata.provides_extra) or None,
        "requires_dist": list(metadata.requires_dist) or None,
    }


def render_project_json(page: ProjectPage, tenant_url: str, version: str, metadata: ReleaseInfo | None) -> bytes:
    """The JSON document for ``version`` of the project; ``tenant_url`` is the absolute ``.../t/<tenant>`` URL and
    ``metadata`` the version's stored core metadata (``None`` for a mirrored release: those fields are empty)."""
    project = page.project
    files_of_version = [file for file in page.files if file.version == version]
    releases: dict[str, list[dict[str, object]]] = {listed: [] for listed in page.versions}
    for file in page.files:
        releases.setdefault(file.version, []).append(_file_json(file, tenant_url))
    name = quote(project.normalized_name)
    info = {
        **_metadata_info(metadata or ReleaseInfo()),
        "name": project.name,
        "version": version,
        "summary": metadata.summary if metadata is not None else project.summary,
        "requires_python": next((f.requires_python for f in files_of_version if f.requires_python), None),
        "yanked": bool(files_of_version) and all(file.yanked for file in files_of_version),
        "yanked_reason": next((f.yanked_reason for f in files_of_version if f.yanked_reason), None),
        "package_url": f"{tenant_url}/pypi/{name}/",
        "project_url": f"{tenant_url}/pypi/{name}/",
        "release_url": f"{tenant_url}/pypi/{name}/{quote(version)}/",
    }
    return _encoder.encode(
        {
            "info": info,
            "last_serial": project.serial,
            "releases": releases,
            "urls": [_file_json(file, tenant_url) for file in files_of_version],
            "vulnerabilities": [
                {
                    "id": mark.id,
                    "aliases": mark.aliases,
                    "summary": mark.summary,
                    "details": f"{mark.severity} severity (marked by the tenant's vulnerability policy)",
                    "fixed_in": mark.fixed_versions,
                    "source": "pyregistry",
                    "link": None,
                    "withdrawn": None,
                }
                for mark in page.vulnerability_marks.get(version, [])
            ],
        }
    )
