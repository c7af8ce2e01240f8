"""Uploadable distributions (right filename, real metadata) that each hide one unsafe member."""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.support.dists import WHEEL_FILE

__all__ = ["BAD_ARCHIVES", "LINK_CHAINS", "NAME", "VERSION", "BadArchive", "link_member", "sdist_with"]

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


def _zip_special(archive: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo(f"{_MODULE}/pipe")
    info.external_attr = (0o010644 << 16) | 0
    archive.writestr(info, b"")


def _links(*chain: tuple[str, str, bytes]) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [(link_member(name, target, kind), None) for name, target, kind in chain]


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


_SYM, _HARD = tarfile.SYMTYPE, tarfile.LNKTYPE
LINK_CHAINS: dict[str, tuple[list[tuple[tarfile.TarInfo, bytes | None]], str]] = {
    "tar-chain-d-e-pwned": (
        [
            *_links((f"{_SDIST_ROOT}/d", "..", _SYM), (f"{_SDIST_ROOT}/d/e", "..", _SYM)),
            (_file(f"{_SDIST_ROOT}/d/e/PWNED.txt"), b"pwned"),
        ],
        f"{_SDIST_ROOT}/d/e",
    ),
    "tar-chain-dot-prefix": (
        [
            *_links((f"./{_SDIST_ROOT}/d", "./..", _SYM), (f"./{_SDIST_ROOT}/./d/e", "../", _SYM)),
            (_file(f"./{_SDIST_ROOT}/d/e/PWNED.txt"), b"pwned"),
        ],
        f"./{_SDIST_ROOT}/./d/e",
    ),
    "tar-chain-hardlink": (
        _links((f"{_SDIST_ROOT}/up", "..", _SYM), (f"{_SDIST_ROOT}/hard", f"{_SDIST_ROOT}/up/../passwd", _HARD)),
        f"{_SDIST_ROOT}/hard",
    ),
    "tar-chain-link-in-linked-dir": (
        _links((f"{_SDIST_ROOT}/up", "..", _SYM), (f"{_SDIST_ROOT}/up/top", "..", _SYM)),
        f"{_SDIST_ROOT}/up/top",
    ),
    "tar-chain-absolute-target": (
        _links((f"{_SDIST_ROOT}/d", ".", _SYM), (f"{_SDIST_ROOT}/d/etc", "/etc", _SYM)),
        f"{_SDIST_ROOT}/d/etc",
    ),
    "tar-chain-loop": (
        [
            *_links((f"{_SDIST_ROOT}/a", "b", _SYM), (f"{_SDIST_ROOT}/b", "a", _SYM)),
            (_file(f"{_SDIST_ROOT}/a/x"), b"x"),
        ],
        f"{_SDIST_ROOT}/b",
    ),
    "tar-chain-retargeted-link": (
        _links((f"{_SDIST_ROOT}/a", "b/../..", _SYM), (f"{_SDIST_ROOT}/b", ".", _SYM)),
        f"{_SDIST_ROOT}/b",
    ),
    "tar-chain-target-through-link": (
        [
            *_links((f"{_SDIST_ROOT}/d", "..", _SYM), (f"{_SDIST_ROOT}/d/e", f"{_SDIST_ROOT}/d/..", _SYM)),
            (_file(f"{_SDIST_ROOT}/d/e/PWNED.txt"), b"pwned"),
        ],
        f"{_SDIST_ROOT}/d/e",
    ),
}
"""Link chains (most pass a per-member check) that, extracted in order, write or point outside the target."""

BAD_ARCHIVES: dict[str, BadArchive] = {
    **{
        case: ((lambda out, members=members: sdist_with(out, members)), culprit)
        for case, (members, culprit) in LINK_CHAINS.items()
    },
    "zip-special-file": (lambda out: _wheel(out, _zip_special), f"{_MODULE}/pipe"),
    "zip-dot-prefix-dotdot": (lambda out: _wheel(out, lambda a: _member(a, "./../evil.pth")), "./../evil.pth"),
    "zip-backslash-absolute": (lambda out: _wheel(out, lambda a: _member(a, "\\evil.pth")), "\\\\evil.pth"),
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
