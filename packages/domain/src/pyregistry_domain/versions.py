"""PEP 440 versions."""

from __future__ import annotations

from packaging.version import InvalidVersion as _PackagingInvalidVersion
from packaging.version import Version

from pyregistry_domain.errors import InvalidVersion

__all__ = ["Version", "canonical_version", "parse_version"]


def parse_version(text: str) -> Version:
    """Parse a PEP 440 version or raise :class:`InvalidVersion` naming it."""
    try:
        return Version(text)
    except _PackagingInvalidVersion:
        raise InvalidVersion(f"version {text!r} is not a valid PEP 440 version") from None


def canonical_version(text: str) -> str:
    """Return the normalized string form of a PEP 440 version (``1.0.0a1`` for ``1.0.0-alpha1``)."""
    return str(parse_version(text))
