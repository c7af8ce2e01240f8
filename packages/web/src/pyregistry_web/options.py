"""Settings the web layer needs, handed over by the composition root."""

from __future__ import annotations

from pathlib import Path

import msgspec

__all__ = ["WebOptions"]


class WebOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What the web layer is told about its deployment."""

    spool_dir: Path
    show_index_stats: bool = True
    cookie_secret: str = ""
    secure_cookies: bool = False
    local_passwords: bool = True
    """Whether the login form takes passwords (off: sign-in only through the configured OIDC providers)."""
    """Mark the admin session cookie ``Secure`` on every response (TLS ends at a proxy in front)."""
    trust_forwarded_proto: bool = False
    """A trusted reverse proxy's ``X-Forwarded-Proto: https`` / ``Forwarded: proto=https`` also makes it ``Secure``."""
    page_cache_bytes: int = 64 * 1024 * 1024
    presigned_redirect_seconds: int = 0
    """When positive, downloads from an object store redirect (302) to a presigned URL valid this long."""
    accel_redirect_prefix: str = ""
    """When set (e.g. ``/_blobs/``), downloads of files on local disk answer ``X-Accel-Redirect: PREFIX<blob key>``
    and an empty body: an nginx in front, with an ``internal`` location for the prefix, sends the bytes."""
