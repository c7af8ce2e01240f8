"""Safe reading of wheels and sdists: integrity, traversal, links, bombs, and core metadata."""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Iterable
from email.parser import Parser
from email.policy import compat32
from pathlib import Path
from typing import IO

from pyregistry_application.dto import DistributionMetadata
from pyregistry_domain.distributions import ArchiveFormat, DistributionKind
from pyregistry_domain.errors import InvalidDistribution
from pyregistry_infrastructure.archive_links import LinkTracker

__all__ = ["ArchiveInspector", "ArchiveLimits", "parse_core_metadata"]

_CHUNK = 1024 * 1024
_RATIO_FLOOR = 10 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_FORMAT_NAMES = {ArchiveFormat.ZIP: "a zip archive", ArchiveFormat.TAR_GZ: "a gzip-compressed tar archive"}
_SINGLE_FIELDS = ("Metadata-Version", "Name", "Version")
_ZIP_SYMLINK = 0o120000
_ZIP_REGULAR_OR_DIR = (0, 0o100000, 0o040000)


class ArchiveLimits:
    """Bounds that make a decompression bomb fail fast."""

    def __init__(
        self,
        max_members: int = 100_000,
        max_total_uncompressed: int = 4 * 1024**3,
        max_ratio: int = 200,
        max_metadata_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.max_members = max_members
        self.max_total_uncompressed = max_total_uncompressed
        self.max_ratio = max_ratio
        self.max_metadata_bytes = max_metadata_bytes


def parse_core_metadata(raw: bytes) -> DistributionMetadata:
    """Parse METADATA / PKG-INFO (RFC 822 style headers, UTF-8) into the fields the registry needs.

    Raises :class:`InvalidDistribution` for anything unusable; never another exception.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDistribution(f"core metadata is not UTF-8 text (byte {exc.start})") from None
    message = Parser(policy=compat32).parsestr(text, headersonly=True)
    for field in _SINGLE_FIELDS:
        if len(message.get_all(field) or []) > 1:
            raise InvalidDistribution(f"core metadata has more than one {field!r} field")

    def header(key: str) -> str:
        return str(message.get(key) or "").strip()

    name = header("Name")
    version = header("Version")
    if not name or not version:
        raise InvalidDistribution("core metadata lacks Name or Version")
    return DistributionMetadata(
        name=name,
        version=version,
        metadata_version=header("Metadata-Version"),
        raw=raw,
        requires_python=header("Requires-Python") or None,
        summary=header("Summary") or None,
        requires_dist=tuple(str(value).strip() for value in message.get_all("Requires-Dist") or []),
    )


def _check_member_name(name: str) -> None:
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        raise InvalidDistribution(f"archive member {name!r} has an unsafe path")
    if len(name) > 1 and name[1] == ":":
        raise InvalidDistribution(f"archive member {name!r} has an absolute path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise InvalidDistribution(f"archive member {name!r} escapes the archive root (path traversal)")


def _check_unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        key = posixpath.normpath(name).rstrip("/")
        if key in seen:
            raise InvalidDistribution(f"archive has duplicate member {name!r}")
        seen.add(key)


def _implausible_ratio(expanded: int, compressed: int, max_ratio: int) -> bool:
    return expanded > _RATIO_FLOOR and expanded > max(compressed, 1) * max_ratio


def _check_tar_member(member: tarfile.TarInfo) -> None:
    _check_member_name(member.name)
    if member.issym() or member.islnk():
        target = member.linkname
        base = posixpath.dirname(member.name) if member.issym() else ""
        resolved = posixpath.normpath(posixpath.join(base, target))
        unsafe = target.startswith(("/", "\\")) or "\\" in target or (len(target) > 1 and target[1] == ":")
        if unsafe or resolved == ".." or resolved.startswith("../"):
            kind = "symbolic link" if member.issym() else "hard link"
            raise InvalidDistribution(f"archive {kind} {member.name!r} points outside the archive ({target!r})")
    elif not (member.isfile() or member.isdir()):
        raise InvalidDistribution(f"archive member {member.name!r} is a device, fifo or other special file")


class _BoundedStream(io.RawIOBase):
    """A read-only view of a decompressing stream that stops a decompression bomb while tarfile walks it."""

    def __init__(self, stream: IO[bytes] | gzip.GzipFile, compressed_size: int, limits: ArchiveLimits) -> None:
        self._stream = stream
        self._compressed_size = compressed_size
        self._limits = limits
        self.expanded = 0
        self.current = "(archive header)"

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size if size is not None and size >= 0 else _CHUNK)
        self.expanded += len(data)
        if self.expanded > self._limits.max_total_uncompressed:
            raise InvalidDistribution(
                f"archive member {self.current!r} takes the archive beyond the uncompressed size limit "
                f"of {self._limits.max_total_uncompressed} bytes (decompression bomb)"
            )
        if _implausible_ratio(self.expanded, self._compressed_size, self._limits.max_ratio):
            raise InvalidDistribution(
                f"archive member {self.current!r} expands the {self._compressed_size}-byte archive beyond "
                f"{self._limits.max_ratio} times its size (decompression bomb)"
            )
        return data


class ArchiveInspector:
    """Implements the ``DistributionInspector`` port with the standard zipfile/tarfile modules."""

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self._limits = limits or ArchiveLimits()

    def inspect(self, path: Path, kind: DistributionKind, archive_format: ArchiveFormat) -> DistributionMetadata:
        """Check the content is the format its filename promises, fully read and check the archive, and return its
        core metadata."""
        with path.open("rb") as handle:
            magic = handle.read(4)
        found = _ZIP_MAGIC if magic.startswith(_ZIP_MAGIC) else _GZIP_MAGIC if magic.startswith(_GZIP_MAGIC) else b""
        expected = _ZIP_MAGIC if archive_format is ArchiveFormat.ZIP else _GZIP_MAGIC
        if found != expected:
            content = {_ZIP_MAGIC: "a zip archive", _GZIP_MAGIC: "a gzip stream"}.get(found, "neither zip nor gzip")
            raise InvalidDistribution(
                f"the filename promises {_FORMAT_NAMES[archive_format]}, but the content is {content}"
            )
        if kind is DistributionKind.WHEEL:
            return self._inspect_wheel(path)
        if archive_format is ArchiveFormat.ZIP:
            return self._inspect_zip_sdist(path)
        return self._inspect_tar_sdist(path)

    def verify(self, path: Path) -> int:
        """Fully read any supported archive (``.whl``, ``.zip``, ``.tar.gz``, ``.tgz``); return member count."""
        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic.startswith(b"PK"):
            with self._open_zip(path) as archive:
                self._read_zip_members(archive, path.stat().st_size)
                return len(archive.infolist())
        if magic.startswith(b"\x1f\x8b"):
            return len(self._read_tar_members(path))
        raise InvalidDistribution("unsupported archive format: expected zip or gzip-compressed tar")

    # zip

    def _open_zip(self, path: Path) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise InvalidDistribution(f"the archive is not a readable zip file: {exc}") from None

    def _read_zip_members(self, archive: zipfile.ZipFile, compressed_size: int) -> None:
        infos = archive.infolist()
        limits = self._limits
        if len(infos) > limits.max_members:
            raise InvalidDistribution(f"archive has more than {limits.max_members} members")
        total = 0
        for info in infos:
            _check_member_name(info.filename)
            mode = (info.external_attr >> 16) & 0o170000
            if mode == _ZIP_SYMLINK:
                raise InvalidDistribution(f"archive member {info.filename!r} is a symbolic link")
            if mode not in _ZIP_REGULAR_OR_DIR:
                raise InvalidDistribution(f"archive member {info.filename!r} is a device, fifo or other special file")
            total += info.file_size
            if total > limits.max_total_uncompressed:
                raise InvalidDistribution(
                    f"archive member {info.filename!r} takes the archive beyond the uncompressed size limit "
                    f"of {limits.max_total_uncompressed} bytes (decompression bomb)"
                )
            if _implausible_ratio(info.file_size, info.compress_size, limits.max_ratio):
                raise InvalidDistribution(
                    f"archive member {info.filename!r} expands {info.compress_size} bytes to {info.file_size} "
                    "(decompression bomb)"
                )
        if _implausible_ratio(total, compressed_size, limits.max_ratio):
            raise InvalidDistribution("archive compression ratio is implausible (decompression bomb)")
        _check_unique(info.filename for info in infos)
        try:
            for info in infos:
                if info.is_dir():
                    continue
                with archive.open(info) as member:
                    while member.read(_CHUNK):
                        pass
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise InvalidDistribution(f"the archive is corrupt: {exc}") from None

    def _zip_read_small(self, archive: zipfile.ZipFile, name: str) -> bytes:
        info = archive.getinfo(name)
        if info.file_size > self._limits.max_metadata_bytes:
            raise InvalidDistribution(f"{name} is larger than {self._limits.max_metadata_bytes} bytes")
        return archive.read(info)

    def _inspect_wheel(self, path: Path) -> DistributionMetadata:
        with self._open_zip(path) as archive:
            self._read_zip_members(archive, path.stat().st_size)
            candidates = [
                info.filename
                for info in archive.infolist()
                if info.filename.count("/") == 1 and info.filename.endswith(".dist-info/METADATA")
            ]
            if not candidates:
                raise InvalidDistribution("the wheel has no .dist-info/METADATA file")
            if len(candidates) > 1:
                raise InvalidDistribution("the wheel has more than one .dist-info directory")
            if f"{candidates[0].split('/')[0]}/WHEEL" not in archive.namelist():
                raise InvalidDistribution("the wheel has no .dist-info/WHEEL file")
            return parse_core_metadata(self._zip_read_small(archive, candidates[0]))

    def _inspect_zip_sdist(self, path: Path) -> DistributionMetadata:
        with self._open_zip(path) as archive:
            self._read_zip_members(archive, path.stat().st_size)
            candidates = [name for name in archive.namelist() if name.count("/") == 1 and name.endswith("/PKG-INFO")]
            if not candidates:
                raise InvalidDistribution("the sdist has no top-level PKG-INFO file")
            return parse_core_metadata(self._zip_read_small(archive, candidates[0]))

    # tar

    def _read_tar_members(self, path: Path) -> list[tarfile.TarInfo]:
        limits = self._limits
        members: list[tarfile.TarInfo] = []
        links = LinkTracker()
        try:
            with gzip.open(path, "rb") as stream:
                counted = _BoundedStream(stream, path.stat().st_size, limits)
                try:
                    with tarfile.open(fileobj=counted, mode="r|") as archive:
                        for member in archive:
                            counted.current = member.name
                            members.append(member)
                            if len(members) > limits.max_members:
                                raise InvalidDistribution(f"archive has more than {limits.max_members} members")
                            _check_tar_member(member)
                            links.check(member)
                    while counted.read(_CHUNK):
                        pass
                except tarfile.TarError as exc:
                    raise InvalidDistribution(f"the tar archive is corrupt: {exc}") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidDistribution(f"the gzip stream is corrupt: {exc}") from None
        _check_unique(member.name for member in members if not member.isdir())
        return members

    def _inspect_tar_sdist(self, path: Path) -> DistributionMetadata:
        members = self._read_tar_members(path)
        candidates = [m for m in members if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")]
        if not candidates:
            raise InvalidDistribution("the sdist has no top-level PKG-INFO file")
        member = candidates[0]
        if member.size > self._limits.max_metadata_bytes:
            raise InvalidDistribution(f"PKG-INFO is larger than {self._limits.max_metadata_bytes} bytes")
        with tarfile.open(path, "r:gz") as archive:
            extracted = archive.extractfile(member.name)
            if extracted is None:
                raise InvalidDistribution("PKG-INFO cannot be read")
            return parse_core_metadata(extracted.read())
