"""Which version of a project counts as the current one, as PyPI decides it."""

from __future__ import annotations

from collections.abc import Iterable

from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.versions import parse_version

__all__ = ["latest_version"]


def latest_version(versions: Iterable[str], files: Iterable[ReleaseFile]) -> str | None:
    """Newest final release with an unyanked file, else newest with an unyanked file, else newest with any file
    (else newest at all); ``None`` for a project without versions."""
    files = list(files)
    with_files = {file.version for file in files}
    known = list(versions)
    candidates = [version for version in known if version in with_files] or known
    if not candidates:
        return None
    unyanked = {file.version for file in files if not file.yanked}
    for pool in (
        [v for v in candidates if v in unyanked and not parse_version(v).is_prerelease],
        [v for v in candidates if v in unyanked],
        candidates,
    ):
        if pool:
            return max(pool, key=parse_version)
    return None
