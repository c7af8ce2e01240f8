"""Build tiny but real wheels and sdists inside tests."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

__all__ = ["build_sdist", "build_wheel", "sha256_of"]

WHEEL_FILE = b"Wheel-Version: 1.0\nGenerator: pyregistry-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _metadata(name: str, version: str, requires_python: str | None, summary: str, extra: str = "") -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    return ("\n".join(lines) + "\n" + extra + "\n").encode()


def build_wheel(
    out: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = ">=3.8",
    summary: str = "a test package",
    metadata_name: str | None = None,
    metadata_version: str | None = None,
    module_source: str | None = None,
    extra_files: dict[str, bytes] | None = None,
    description: str = "",
) -> Path:
    """A valid py3-none-any wheel with a RECORD; metadata can be made to disagree on purpose."""
    module = name.replace("-", "_").replace(".", "_").lower()
    dist_info = f"{module}-{version}.dist-info"
    files: dict[str, bytes] = {
        f"{module}/__init__.py": (module_source or f"VERSION = {version!r}\n").encode(),
        f"{dist_info}/METADATA": _metadata(
            metadata_name or name, metadata_version or version, requires_python, summary, description
        ),
        f"{dist_info}/WHEEL": WHEEL_FILE,
    }
    files.update(extra_files or {})
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return target


def build_sdist(out: Path, name: str, version: str, *, requires_python: str | None = ">=3.8") -> Path:
    """A PEP 625 sdist (``.tar.gz``) with PKG-INFO and a pyproject using the standard library only."""
    module = name.replace("-", "_").replace(".", "_").lower()
    top = f"{module}-{version}"
    files = {
        f"{top}/PKG-INFO": _metadata(name, version, requires_python, "a test sdist"),
        f"{top}/{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{top}/pyproject.toml": b"[build-system]\nrequires = []\nbuild-backend = 'backend'\nbackend-path = ['.']\n",
    }
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{top}.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return target
