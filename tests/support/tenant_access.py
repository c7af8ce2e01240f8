"""A tenant of its own for one e2e test: its slug and tokens."""

from __future__ import annotations

import hashlib
import re

import msgspec

__all__ = ["TenantAccess", "unique_slug"]


class TenantAccess(msgspec.Struct, frozen=True):
    """A tenant nobody else uses, with a read token and a read+publish token."""

    slug: str
    read: str
    publish: str


def unique_slug(node_name: str) -> str:
    """A valid tenant slug unique to one test (its name, shortened, plus a digest of the full node name)."""
    stem = re.sub(r"[^a-z0-9]+", "-", node_name.lower()).strip("-")[:40].strip("-")
    return f"{stem}-{hashlib.sha256(node_name.encode()).hexdigest()[:8]}"
