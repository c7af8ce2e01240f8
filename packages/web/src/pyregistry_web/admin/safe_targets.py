"""Where the admin UI may send the browser after a sign-in."""

from __future__ import annotations

__all__ = ["DEFAULT_TARGET", "safe_next"]

DEFAULT_TARGET = "/admin/dashboard"


def safe_next(target: str | None) -> str:
    """Only same-site admin paths: never another host (``//``) nor a scheme."""
    if not target or not target.startswith("/admin/") or target.startswith("//") or "\\" in target:
        return DEFAULT_TARGET
    return target
