"""Hiding credentials in settings before they are shown: by the setting's name and inside every URL."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

__all__ = ["MASK", "is_secret_name", "mask_setting", "mask_url"]

MASK = "********"
_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|pwd|secret|token|credential|(^|[^a-z])(api|access|account|private|master|shared|"
    r"client|signing|encryption|sas)?_?key($|[^a-z])|(^|_)(sas|sig)($|_)|signature|auth|private|"
    r"connection_string",
)
_TOKEN_AS_USER_SCHEMES = frozenset({"http", "https"})
_WHOLE_SECRET_URL_KEYS = frozenset({"security.vulnerability_webhook.url", "security.package_publish_webhook.url"})


def is_secret_name(name: str) -> bool:
    """True when a setting or query parameter called ``name`` holds a credential (``token``, ``account_key``,
    ``sas_token``, ``secret_access_key``, ``password``, ``client_secret``, ...)."""
    return _SECRET_NAME.search(unquote_plus(name).lower().replace("-", "_")) is not None


def _mask_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if equals and is_secret_name(name) else pair)
    return "&".join(pairs)


def mask_url(url: str) -> str:
    """``url`` with its user info's password and secret query parameters masked; in an http(s) URL a user name
    standing alone is masked too (``https://TOKEN@host/`` is how indexes take tokens). Anything that is no URL
    comes back unchanged."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc, query = parts.netloc, _mask_query(parts.query)
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        if colon:
            netloc = f"{user}:{MASK}@{host}"
        elif parts.scheme in _TOKEN_AS_USER_SCHEMES:
            netloc = f"{MASK}@{host}"
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def mask_setting(key: str, value: Any) -> Any:
    """``value`` of the dotted setting ``key`` as it may be shown: secrets by name masked, URLs without their
    credentials, tables and lists masked the same way all through."""
    if value is None:
        return None
    name = key.rpartition(".")[2]
    if key in _WHOLE_SECRET_URL_KEYS or is_secret_name(name):
        return MASK
    if isinstance(value, dict):
        return {child: mask_setting(f"{key}.{child}", item) for child, item in value.items()}
    if isinstance(value, list):
        return [mask_setting(key, item) for item in value]
    if isinstance(value, str):
        return mask_url(value)
    return value
