"""Distribution filenames (wheel and sdist) and the release file entity."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)

from pyregistry_domain.errors import InvalidFilename
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.projects import ProjectOrigin

__all__ = [
    "ArchiveFormat",
    "DistributionIdentity",
    "DistributionKind",
    "ParsedFilename",
    "ReleaseFile",
    "distribution_identity",
    "parse_distribution_filename",
]

_SDIST_SUFFIXES = (".tar.gz", ".zip")
_SAFE_FILENAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
MAX_FILENAME_LENGTH = 255


class DistributionKind(StrEnum):
    """The packaging type of a file, as twine's ``filetype`` names it."""

    WHEEL = "bdist_wheel"
    SDIST = "sdist"


class ArchiveFormat(StrEnum):
    """The container a filename's extension promises: wheels and ``.zip`` sdists are zip, ``.tar.gz`` is gzip tar."""

    ZIP = "zip"
    TAR_GZ = "tar.gz"


@dataclass(frozen=True, slots=True)
class ParsedFilename:
    """What a distribution filename says about itself."""

    filename: str
    kind: DistributionKind
    normalized_name: str
    version: str

    @property
    def archive_format(self) -> ArchiveFormat:
        """The archive format the extension promises."""
        return ArchiveFormat.TAR_GZ if self.filename.endswith(".tar.gz") else ArchiveFormat.ZIP


def parse_distribution_filename(filename: str) -> ParsedFilename:
    """Parse a wheel (PEP 427/491) or sdist (PEP 625, legacy ``.zip``) filename.

    Raises :class:`InvalidFilename` naming what is wrong.
    """
    if not filename or len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidFilename(f"filename must be 1-{MAX_FILENAME_LENGTH} characters")
    if not _SAFE_FILENAME_RE.match(filename):
        raise InvalidFilename(f"filename {filename!r} contains characters that are not allowed")
    if filename.endswith(".whl"):
        try:
            name, version, _build, _tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, ValueError) as exc:
            raise InvalidFilename(f"invalid wheel filename {filename!r}: {exc}") from None
        return ParsedFilename(filename, DistributionKind.WHEEL, str(name), str(version))
    if filename.endswith(_SDIST_SUFFIXES):
        try:
            if filename.endswith(".zip"):
                name, version = parse_sdist_filename(filename[: -len(".zip")] + ".tar.gz")
            else:
                name, version = parse_sdist_filename(filename)
        except (InvalidSdistFilename, ValueError) as exc:
            raise InvalidFilename(f"invalid sdist filename {filename!r}: {exc}") from None
        return ParsedFilename(filename, DistributionKind.SDIST, normalize_project_name(str(name)), str(version))
    raise InvalidFilename(f"unsupported distribution type {filename!r}: upload a .whl, .tar.gz or .zip file")


@dataclass(frozen=True, slots=True)
class DistributionIdentity:
    """What makes two filenames the same file of a release, whatever their spelling.

    Versions compare as PEP 440 does (``1.0`` is ``1.0.0``: ``pip install x==1.0`` would find both). A wheel is its
    normalized name, version, build tag and set of compatibility tags: ``Immut-1.0-py3-none-any.whl`` is
    ``immut-1.0-py3-none-any.whl``, and ``x-1.0-py2.py3-none-any.whl`` is ``x-1.0-py3.py2-none-any.whl``. As on
    PyPI, a different build tag makes a different file (installers prefer the highest). An sdist is its normalized
    name and version only: a release has one sdist, ``.tar.gz`` or ``.zip``.
    """

    kind: DistributionKind
    normalized_name: str
    version: str
    build: tuple[int | str, ...] = ()
    tags: frozenset[str] = frozenset()


def distribution_identity(filename: str) -> DistributionIdentity:
    """The identity of a distribution filename (raises :class:`InvalidFilename` like
    :func:`parse_distribution_filename`)."""
    parsed = parse_distribution_filename(filename)
    version = canonicalize_version(parsed.version, strip_trailing_zero=True)
    if parsed.kind is DistributionKind.SDIST:
        return DistributionIdentity(parsed.kind, parsed.normalized_name, version)
    _name, _version, build, tags = parse_wheel_filename(filename)
    return DistributionIdentity(parsed.kind, parsed.normalized_name, version, tuple(build), frozenset(map(str, tags)))


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    """One stored distribution file of a release."""

    tenant_id: str
    project_name: str
    normalized_name: str
    version: str
    filename: str
    kind: DistributionKind
    sha256: str
    size: int
    blob_key: str
    uploaded_at: datetime
    uploaded_by: str
    requires_python: str | None = None
    metadata_sha256: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    origin: str = ProjectOrigin.LOCAL
    upstream_url: str | None = None
    cached: bool = True
    has_provenance: bool = False

    @property
    def is_mirrored(self) -> bool:
        """True for a file recorded from the upstream index (``cached`` says whether its bytes are stored yet)."""
        return self.origin == ProjectOrigin.MIRROR

    @property
    def is_local(self) -> bool:
        """True for a file uploaded to (or imported into) this registry."""
        return self.origin == ProjectOrigin.LOCAL

    def gives_way_to_upload_of(self, normalized_name: str) -> bool:
        """A mirrored file of the project being uploaded is replaced by the upload (the project is taken over);
        any other file with the same name refuses it (files are immutable)."""
        return self.is_mirrored and self.normalized_name == normalized_name

    @property
    def size_known(self) -> bool:
        """False for a mirrored file not downloaded yet whose upstream page gave no size (``size`` is 0 then)."""
        return self.size > 0 or self.cached
