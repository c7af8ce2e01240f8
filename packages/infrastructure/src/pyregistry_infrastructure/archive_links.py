"""Where tar members would land if extracted: links resolved through the members before them.

The rule is that of ``tarfile``'s ``data`` extraction filter, applied to the archive alone: every member path,
every symbolic link target (relative to the link's directory) and every hard link target (relative to the archive
root) must stay inside the archive root once the symbolic links of earlier members are followed, and every
symbolic link must still lead inside after each later link is added. Absolute link targets are refused outright,
and a hard link must name a file stored earlier in the archive.
"""

from __future__ import annotations

import tarfile

from pyregistry_domain.errors import InvalidDistribution

__all__ = ["LinkTracker"]

MAX_LINK_HOPS = 40
"""As many symbolic links as Linux follows in one path lookup before ``ELOOP``."""
MAX_SYMLINKS = 256
"""Symbolic links per archive; each new one re-checks the earlier ones, so the work stays bounded."""


class _Escapes(Exception):
    """A path leaves the archive root."""


class _LinkLoop(_Escapes):
    """Resolving a path follows more links than a real extraction could."""


class LinkTracker:
    """Feed tar members in archive order; a member that would be written (or point) outside the root is refused."""

    def __init__(self) -> None:
        self._symlinks: dict[str, str] = {}
        self._files: set[str] = set()
        self._occupied: set[str] = set()

    def check(self, member: tarfile.TarInfo) -> None:
        """Raise :class:`InvalidDistribution` when ``member`` escapes the root through links seen so far."""
        name = member.name
        kind = "symbolic link" if member.issym() else "hard link" if member.islnk() else ""
        if kind and any(part in ("", ".") for part in name.removeprefix("./").split("/")):
            raise InvalidDistribution(f"archive {kind} {name!r} has an empty or '.' path component")
        try:
            parent, leaf = self._resolve_parent(name)
            if leaf is None:
                return
            location = f"{parent}/{leaf}" if parent else leaf
            self._occupy(parent)
            if not kind:
                written = self._resolve(location)
                self._occupy(written)
                if member.isfile():
                    self._files.add(written)
                return
            target = member.linkname
            if target.startswith(("/", "\\")) or "\\" in target or (len(target) > 1 and target[1] == ":"):
                raise _Escapes
            resolved = self._resolve(f"{parent}/{target}" if member.issym() and parent else target)
        except _LinkLoop:
            raise InvalidDistribution(
                f"archive member {name!r} goes through more than {MAX_LINK_HOPS} symbolic links (a link loop)"
            ) from None
        except _Escapes:
            if kind:
                raise InvalidDistribution(
                    f"archive {kind} {name!r} points outside the archive ({member.linkname!r}), "
                    "following the links before it"
                ) from None
            raise InvalidDistribution(
                f"archive member {name!r} would be written outside the archive through a symbolic link"
            ) from None
        if member.issym():
            if location in self._occupied:
                raise InvalidDistribution(
                    f"archive symbolic link {name!r} replaces a directory or file stored before it"
                )
            if len(self._symlinks) >= MAX_SYMLINKS:
                raise InvalidDistribution(f"archive has more than {MAX_SYMLINKS} symbolic links")
            self._symlinks[location] = member.linkname
            self._recheck_links(name)
            return
        if resolved not in self._files:
            raise InvalidDistribution(
                f"archive hard link {name!r} points to {member.linkname!r}, which is not a file stored before it"
            )
        self._files.add(location)
        self._occupy(location)

    def _recheck_links(self, name: str) -> None:
        """A new link can change where earlier links lead (``a -> b/../..``, then ``b -> .``): check them all."""
        for location, target in self._symlinks.items():
            directory = location.rpartition("/")[0]
            try:
                self._resolve(f"{directory}/{target}" if directory else target)
            except _LinkLoop:
                raise InvalidDistribution(
                    f"archive symbolic link {name!r} closes a link loop through {location!r}"
                ) from None
            except _Escapes:
                raise InvalidDistribution(
                    f"archive symbolic link {name!r} makes the link {location!r} point outside the archive ({target!r})"
                ) from None

    def _occupy(self, path: str) -> None:
        """Remember that ``path`` and the directories above it exist once the members so far are extracted."""
        parts = path.split("/") if path else []
        self._occupied.update("/".join(parts[:end]) for end in range(1, len(parts) + 1))

    def _resolve_parent(self, name: str) -> tuple[str, str | None]:
        """The resolved directory of ``name`` and its last component (``None`` for the root itself)."""
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if not parts:
            return "", None
        return self._resolve("/".join(parts[:-1])), parts[-1]

    def _resolve(self, path: str) -> str:
        """Resolve ``path`` (relative to the root) through the known symbolic links; ``_Escapes`` if it leaves."""
        pending = [part for part in path.split("/") if part not in ("", ".")]
        resolved: list[str] = []
        hops = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                if not resolved:
                    raise _Escapes
                resolved.pop()
                continue
            resolved.append(part)
            target = self._symlinks.get("/".join(resolved))
            if target is None:
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise _LinkLoop
            if target.startswith("/"):
                raise _Escapes
            resolved.pop()
            pending = [piece for piece in target.split("/") if piece not in ("", ".")] + pending
        return "/".join(resolved)
