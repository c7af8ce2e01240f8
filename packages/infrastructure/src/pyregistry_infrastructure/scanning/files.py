"""Walking an unpacked wheel: relative names, sizes and magic numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

__all__ = ["BINARY_MAGIC", "MAX_SCAN_BYTES", "binary_kind", "iter_files", "relative"]

MAX_SCAN_BYTES = 32 * 1024 * 1024
BINARY_MAGIC = {b"\x7fELF": "ELF", b"MZ": "PE", b"\xcf\xfa\xed\xfe": "Mach-O", b"\xca\xfe\xba\xbe": "Mach-O"}


def iter_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` (no symlinks), in a stable order."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def relative(path: Path, root: Path) -> str:
    """``path`` as a POSIX path inside the wheel."""
    return path.relative_to(root).as_posix()


def binary_kind(head: bytes) -> str | None:
    """``ELF``, ``PE`` or ``Mach-O`` from the first bytes, else ``None``."""
    for magic, kind in BINARY_MAGIC.items():
        if head.startswith(magic):
            return kind
    return None
