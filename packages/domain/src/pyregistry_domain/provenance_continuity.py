"""Provenance continuity: a release that breaks the chain of verified publisher identities is held.

Releases are taken in version order. Once a release of a project carried verified provenance, a later release is
held unless every one of its files was attested by an identity that signed an earlier accepted release: a file
without verified provenance, or attested by another identity, is the signature of a stolen-token release. A held
release an admin released is accepted, and its identities join the trusted ones (a deliberate move to a new CI).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pyregistry_domain.errors import InvalidVersion
from pyregistry_domain.versions import parse_version

__all__ = ["AttestedFile", "continuity_holds"]


@dataclass(frozen=True, slots=True)
class AttestedFile:
    """A file of a project with the identity its verified provenance names (``None``: none verified)."""

    filename: str
    version: str
    identity: str | None


def _version_key(version: str) -> tuple[int, object]:
    try:
        return (1, parse_version(version))
    except InvalidVersion:
        return (0, version)


def continuity_holds(files: Iterable[AttestedFile], released_versions: Collection[str]) -> dict[str, str]:
    """The held files by filename, each with the reason to show the admin and the installer."""
    by_version: dict[str, list[AttestedFile]] = {}
    for file in files:
        by_version.setdefault(file.version, []).append(file)
    trusted: set[str] = set()
    held: dict[str, str] = {}
    for version in sorted(by_version, key=_version_key):
        group = by_version[version]
        if trusted and version not in released_versions:
            known = ", ".join(sorted(trusted))
            for file in group:
                if file.identity is None:
                    held[file.filename] = (
                        f"held by provenance continuity: {file.filename} has no verified provenance, "
                        f"but earlier releases were attested by {known}"
                    )
                elif file.identity not in trusted:
                    held[file.filename] = (
                        f"held by provenance continuity: {file.filename} was attested by {file.identity}, "
                        f"but earlier releases by {known}"
                    )
        if version in released_versions or not any(file.filename in held for file in group):
            trusted.update(file.identity for file in group if file.identity is not None)
    return held
