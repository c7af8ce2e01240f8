"""Safe reading of wheels and sdists: integrity, traversal, links, bombs, and core metadata."""

from __future__ import annotations

import gzip
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Iterable
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

from pyregistry_application.dto import DistributionMetadata
from pyregistry_domain.distributions import DistributionKind
from pyregistry_domain.errors import InvalidDistribution

__all__ = ["ArchiveInspector", "ArchiveLimits", "parse_core_metadata"]

_CHUNK = 1024 * 1024


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
    """Parse METADATA / PKG-INFO (RFC 822 style headers) into the fields the registry needs."""
    message = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    name = (message.get("Name") or "").strip()
    version = (message.get("Version") or "").strip()
    if not name or not version:
        raise InvalidDistribution("core metadata lacks Name or Version")
    requires_python = (message.get("Requires-Python") or "").strip() or None
    summary = (message.get("Summary") or "").strip() or None
    return DistributionMetadata(
        name=name,
        version=version,
        metadata_version=(message.get("Metadata-Version") or "").strip(),
        raw=raw,
        requires_python=requires_python,
        summary=summary,
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


class ArchiveInspector:
    """Implements the ``DistributionInspector`` port with the standard zipfile/tarfile modules."""

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self._limits = limits or ArchiveLimits()

    def inspect(self, path: Path, kind: DistributionKind) -> DistributionMetadata:
        """Fully read and check the archive and return its core metadata."""
        name = path.name if kind is DistributionKind.WHEEL else ""
        if kind is DistributionKind.WHEEL:
            return self._inspect_wheel(path, name)
        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic.startswith(b"PK"):
            return self._inspect_zip_sdist(path)
        if magic.startswith(b"\x1f\x8b"):
            return self._inspect_tar_sdist(path)
        raise InvalidDistribution("the file is neither a zip nor a gzip archive")

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
            if mode == 0o120000:
                raise InvalidDistribution(f"archive member {info.filename!r} is a symbolic link")
            total += info.file_size
            if total > limits.max_total_uncompressed:
                raise InvalidDistribution("archive expands beyond the uncompressed size limit (decompression bomb)")
        if total > max(compressed_size, 1) * limits.max_ratio and total > 10 * 1024 * 1024:
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

    def _inspect_wheel(self, path: Path, filename: str) -> DistributionMetadata:
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
        total = 0
        try:
            with gzip.open(path, "rb") as stream:
                while chunk := stream.read(_CHUNK):
                    total += len(chunk)
                    if total > limits.max_total_uncompressed:
                        raise InvalidDistribution(
                            "archive expands beyond the uncompressed size limit (decompression bomb)"
                        )
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidDistribution(f"the gzip stream is corrupt: {exc}") from None
        if total > max(path.stat().st_size, 1) * limits.max_ratio and total > 10 * 1024 * 1024:
            raise InvalidDistribution("archive compression ratio is implausible (decompression bomb)")
        try:
            with tarfile.open(path, "r:gz") as archive:
                members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise InvalidDistribution(f"the tar archive is corrupt: {exc}") from None
        if len(members) > limits.max_members:
            raise InvalidDistribution(f"archive has more than {limits.max_members} members")
        for member in members:
            _check_member_name(member.name)
            if member.issym() or member.islnk():
                target = member.linkname
                base = posixpath.dirname(member.name) if member.issym() else ""
                resolved = posixpath.normpath(posixpath.join(base, target))
                if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                    raise InvalidDistribution(f"archive link {member.name!r} points outside the archive ({target!r})")
            elif not (member.isfile() or member.isdir()):
                raise InvalidDistribution(f"archive member {member.name!r} is a device, fifo or other special file")
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
