"""Uploadable distributions (right filename, real metadata) that each hide one unsafe member."""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.support.dists import WHEEL_FILE

__all__ = ["BAD_ARCHIVES", "NAME", "VERSION", "BadArchive", "link_member", "sdist_with"]

NAME = "evil-archive"
VERSION = "1.0.0"
_MODULE = "evil_archive"
_DIST_INFO = f"{_MODULE}-{VERSION}.dist-info"
_SDIST_ROOT = f"{_MODULE}-{VERSION}"
_METADATA = f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n".encode()

BadArchive = tuple[Callable[[Path], Path], str]


def _wheel(out: Path, add: Callable[[zipfile.ZipFile], None], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path = out / f"{_MODULE}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.writestr(f"{_MODULE}/__init__.py", b"")
        archive.writestr(f"{_DIST_INFO}/METADATA", _METADATA)
        archive.writestr(f"{_DIST_INFO}/WHEEL", WHEEL_FILE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name we add on purpose
            add(archive)
    return path


def _member(archive: zipfile.ZipFile, name: str, data: bytes = b"x") -> None:
    archive.writestr(zipfile.ZipInfo(name), data)


def _zip_symlink(archive: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo(f"{_MODULE}/config")
    info.external_attr = (0o120777 << 16) | 0
    archive.writestr(info, b"../../../../etc/passwd")


def _zip_declared_bomb(archive: zipfile.ZipFile) -> None:
    """A central directory that announces 5 GiB for a tiny member."""
    archive.writestr(f"{_MODULE}/huge.bin", b"\0" * 1024)
    archive.getinfo(f"{_MODULE}/huge.bin").file_size = 5 * 1024**3


def _zip_ratio_bomb(archive: zipfile.ZipFile) -> None:
    archive.writestr(f"{_MODULE}/zeros.bin", b"\0" * (24 * 1024 * 1024), compress_type=zipfile.ZIP_DEFLATED)


def sdist_with(out: Path, extra: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    """An sdist of the evil-archive project with ``extra`` members added after PKG-INFO and setup.py."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{_SDIST_ROOT}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in ((f"{_SDIST_ROOT}/PKG-INFO", _METADATA), (f"{_SDIST_ROOT}/setup.py", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info, data in extra:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def link_member(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    """A symbolic (SYMTYPE) or hard (LNKTYPE) link member."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


BAD_ARCHIVES: dict[str, BadArchive] = {
    "zip-dotdot": (lambda out: _wheel(out, lambda a: _member(a, "../../etc/cron.d/evil")), "../../etc/cron.d/evil"),
    "zip-absolute": (lambda out: _wheel(out, lambda a: _member(a, "/etc/passwd")), "/etc/passwd"),
    "zip-drive-letter": (lambda out: _wheel(out, lambda a: _member(a, "C:/Windows/evil.dll")), "C:/Windows/evil.dll"),
    "zip-backslash": (
        lambda out: _wheel(out, lambda a: _member(a, "evil_archive\\..\\..\\evil.py")),
        "evil_archive\\\\..\\\\..\\\\evil.py",
    ),
    "zip-symlink": (lambda out: _wheel(out, _zip_symlink), f"{_MODULE}/config"),
    "zip-duplicate": (lambda out: _wheel(out, lambda a: _member(a, f"{_MODULE}/__init__.py")), "__init__.py"),
    "zip-declared-size-bomb": (lambda out: _wheel(out, _zip_declared_bomb), f"{_MODULE}/huge.bin"),
    "zip-ratio-bomb": (lambda out: _wheel(out, _zip_ratio_bomb), f"{_MODULE}/zeros.bin"),
    "tar-dotdot": (lambda out: sdist_with(out, [(_file(f"{_SDIST_ROOT}/../../evil"), b"x")]), "../../evil"),
    "tar-absolute": (lambda out: sdist_with(out, [(_file("/tmp/evil"), b"x")]), "/tmp/evil"),
    "tar-symlink-escape": (
        lambda out: sdist_with(
            out, [(link_member(f"{_SDIST_ROOT}/passwd", "../../../etc/passwd", tarfile.SYMTYPE), None)]
        ),
        f"{_SDIST_ROOT}/passwd",
    ),
    "tar-symlink-absolute": (
        lambda out: sdist_with(out, [(link_member(f"{_SDIST_ROOT}/shadow", "/etc/shadow", tarfile.SYMTYPE), None)]),
        f"{_SDIST_ROOT}/shadow",
    ),
    "tar-hardlink-escape": (
        lambda out: sdist_with(out, [(link_member(f"{_SDIST_ROOT}/hard", "../outside", tarfile.LNKTYPE), None)]),
        f"{_SDIST_ROOT}/hard",
    ),
    "tar-duplicate": (lambda out: sdist_with(out, [(_file(f"{_SDIST_ROOT}/setup.py"), b"evil")]), "setup.py"),
    "tar-ratio-bomb": (
        lambda out: sdist_with(out, [(_file(f"{_SDIST_ROOT}/zeros.bin"), b"\0" * (48 * 1024 * 1024))]),
        f"{_SDIST_ROOT}/zeros.bin",
    ),
}
