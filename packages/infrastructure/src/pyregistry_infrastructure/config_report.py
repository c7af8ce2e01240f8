"""The effective settings as ``key = value  (source)`` lines, secrets masked, for ``pyregistry config show``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import msgspec

from pyregistry_infrastructure.config import LoadedSettings

__all__ = ["MASK", "SettingLine", "describe_settings", "mask_value"]

MASK = "********"
_SECRET_KEYS = frozenset(
    {
        "superadmin_password",
        "cookie_secret",
        "security.vulnerability_webhook.url",
        "security.package_publish_webhook.url",
        "artifact_storage.opendal.options.secret_access_key",
        "artifact_storage.opendal.options.session_token",
    }
)
_URL_KEYS = frozenset({"postgres.connection_url", "sql_server.connection_url", "pypi.base_url", "pypi.proxy_url"})
_SECRET_PARAMETER_MARKERS = ("password", "passwd", "pwd", "secret", "token", "key", "credential")


class SettingLine(msgspec.Struct, frozen=True):
    """One effective setting: dotted key, display value (masked if secret) and its origin."""

    key: str
    value: str
    source: str


def _secret_parameter(name: str) -> bool:
    lowered = unquote_plus(name).lower()
    return any(marker in lowered for marker in _SECRET_PARAMETER_MARKERS)


def _mask_query(query: str) -> str:
    """``query`` with the value of every password-, secret-, token- or key-like parameter masked, the rest verbatim."""
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if equals and _secret_parameter(name) else pair)
    return "&".join(pairs)


def _mask_url_password(url: str) -> str:
    """``url`` with the password of its user info and secret query parameters (``?password=``) masked."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, _mask_query(parts.query)
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def mask_value(key: str, value: Any) -> Any:
    """``value`` as it may be shown: secrets replaced by a mask, passwords removed from URLs."""
    if value is None:
        return None
    if key in _SECRET_KEYS or key.endswith(("secret_access_key", "session_token", "password")):
        return MASK
    if key in _URL_KEYS and isinstance(value, str):
        return _mask_url_password(value)
    return value


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _source(key: str, sources: dict[str, str]) -> str:
    candidate = key
    while candidate:
        if candidate in sources:
            return sources[candidate]
        candidate = candidate.rpartition(".")[0]
    return "default"


def _render(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def describe_settings(loaded: LoadedSettings) -> list[SettingLine]:
    """Every effective setting in declaration order, with its masked value and source."""
    flat = _flatten(msgspec.to_builtins(loaded.settings))
    return [
        SettingLine(key=key, value=_render(mask_value(key, value)), source=_source(key, loaded.sources))
        for key, value in flat.items()
    ]
