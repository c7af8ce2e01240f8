"""A file on disk described as an upload's spooled content, with the digests an upload checks."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pyregistry_application.dto import SpooledUpload

__all__ = ["spooled_file"]

_CHUNK = 1024 * 1024


def spooled_file(path: Path, filename: str) -> SpooledUpload:
    """``path`` as the content of an upload named ``filename``: its size and sha256, md5 and blake2b-256 digests,
    read in 1 MiB chunks."""
    sha256, md5, blake2 = hashlib.sha256(), hashlib.md5(usedforsecurity=False), hashlib.blake2b(digest_size=32)
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            for digest in (sha256, md5, blake2):
                digest.update(chunk)
    return SpooledUpload(
        path=str(path),
        filename=filename,
        size=size,
        sha256=sha256.hexdigest(),
        md5=md5.hexdigest(),
        blake2_256=blake2.hexdigest(),
    )
