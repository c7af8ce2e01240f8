"""Safe wheel extraction for the scanners."""

from __future__ import annotations

import zipfile
from pathlib import Path

from pyregistry_domain.errors import InvalidDistribution
from pyregistry_infrastructure.archives import ArchiveInspector

__all__ = ["SafeWheelUnpacker"]


class SafeWheelUnpacker:
    """Implements ``WheelUnpacker``: full safety check with ``ArchiveInspector.verify``, then extraction."""

    def __init__(self, inspector: ArchiveInspector | None = None) -> None:
        self._inspector = inspector or ArchiveInspector()

    def unpack(self, wheel: Path, target: Path) -> None:
        """Refuse traversal, links, bombs and corrupt data before anything is written."""
        self._inspector.verify(wheel)
        try:
            with zipfile.ZipFile(wheel) as archive:
                for info in archive.infolist():
                    destination = (target / info.filename).resolve()
                    if not destination.is_relative_to(target.resolve()):
                        raise InvalidDistribution(f"archive member {info.filename!r} escapes the archive root")
                    archive.extract(info, target)
        except zipfile.BadZipFile as exc:
            raise InvalidDistribution(f"the wheel is not a readable zip file: {exc}") from None
