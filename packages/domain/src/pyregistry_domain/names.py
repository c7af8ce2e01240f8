"""Project name normalization (PEP 503) and tenant slug rules."""

from __future__ import annotations

import re
import unicodedata

from pyregistry_domain.errors import InvalidName

__all__ = ["is_normalized", "normalize_project_name", "validate_project_name", "validate_tenant_slug"]

_NORMALIZE_RE = re.compile(r"[-_.]+")
_PROJECT_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_TENANT_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED_SLUGS = frozenset({"admin", "api", "static", "simple", "files", "_", "t"})
MAX_PROJECT_NAME_LENGTH = 200


def normalize_project_name(name: str) -> str:
    """Return the PEP 503 normalized form: lowercase, runs of ``-_.`` collapsed to ``-``."""
    return _NORMALIZE_RE.sub("-", name).lower()


def is_normalized(name: str) -> bool:
    """True when ``name`` already is its own PEP 503 normal form."""
    return normalize_project_name(name) == name


def validate_project_name(name: str) -> str:
    """Check a project name against the core metadata rules and return it unchanged.

    Only ASCII letters, digits, ``.``, ``_`` and ``-`` are allowed, starting and ending
    with a letter or digit; anything else (including look-alike Unicode) is refused.
    """
    if not name:
        raise InvalidName("project name is empty")
    if len(name) > MAX_PROJECT_NAME_LENGTH:
        raise InvalidName(f"project name is longer than {MAX_PROJECT_NAME_LENGTH} characters")
    if not name.isascii():
        folded = unicodedata.normalize("NFKC", name)
        hint = f"; it looks like {folded!r}" if folded.isascii() and folded != name else ""
        raise InvalidName(
            f"project name {name!r} contains non-ASCII characters ({_describe_non_ascii(name)}){hint}: "
            "only ASCII letters, digits, '.', '_' and '-' are allowed (PEP 508), "
            "so look-alike letters from other scripts cannot impersonate a project"
        )
    if not _PROJECT_NAME_RE.match(name):
        raise InvalidName(
            f"project name {name!r} is not valid: use letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit"
        )
    return name


def _describe_non_ascii(text: str, limit: int = 3) -> str:
    """``'\\u0430' U+0430 CYRILLIC SMALL LETTER A, ...`` for the first few non-ASCII characters."""
    unique = list(dict.fromkeys(char for char in text if not char.isascii()))
    described = [f"{char!r} U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}" for char in unique[:limit]]
    if len(unique) > limit:
        described.append(f"and {len(unique) - limit} more")
    return ", ".join(described)


def validate_tenant_slug(slug: str) -> str:
    """Check a tenant slug: 1-63 lowercase letters, digits and inner hyphens; not reserved."""
    if not _TENANT_SLUG_RE.match(slug):
        raise InvalidName(
            f"tenant slug {slug!r} is not valid: use 1-63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    if slug in _RESERVED_SLUGS:
        raise InvalidName(f"tenant slug {slug!r} is reserved")
    return slug
