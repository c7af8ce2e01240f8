"""Safe wheel (and sdist) extraction for the scanners."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

from pyregistry_domain.errors import InvalidDistribution
from pyregistry_infrastructure.archives import ArchiveInspector

__all__ = ["SafeWheelUnpacker"]


class SafeWheelUnpacker:
    """Implements ``WheelUnpacker`` for wheels and ``.tar.gz`` sdists: full safety check with
    ``ArchiveInspector.verify``, then extraction."""

    def __init__(self, inspector: ArchiveInspector | None = None) -> None:
        self._inspector = inspector or ArchiveInspector()

    def unpack(self, wheel: Path, target: Path) -> None:
        """Refuse traversal, links, bombs and corrupt data before anything is written."""
        self._inspector.verify(wheel)
        with wheel.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        if gzipped:
            self._untar(wheel, target)
            return
        try:
            with zipfile.ZipFile(wheel) as archive:
                for info in archive.infolist():
                    destination = (target / info.filename).resolve()
                    if not destination.is_relative_to(target.resolve()):
                        raise InvalidDistribution(f"archive member {info.filename!r} escapes the archive root")
                    archive.extract(info, target)
        except zipfile.BadZipFile as exc:
            raise InvalidDistribution(f"the wheel is not a readable zip file: {exc}") from None

    @staticmethod
    def _untar(archive: Path, target: Path) -> None:
        """An sdist: the ``data`` filter refuses absolute paths, traversal, links out of the root and devices."""
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(target, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise InvalidDistribution(f"the sdist cannot be unpacked safely: {exc}") from None
