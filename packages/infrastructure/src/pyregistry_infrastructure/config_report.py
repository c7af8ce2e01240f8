"""The effective settings as ``key = value  (source)`` lines, secrets masked, for ``pyregistry config show``."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from pyregistry_infrastructure.config import LoadedSettings, source_of
from pyregistry_infrastructure.secret_masking import MASK, mask_setting

__all__ = ["GENERATED", "MASK", "SettingLine", "describe_settings", "mask_value"]

GENERATED = {
    "superadmin_password": "<generated, printed on first start>",
    "cookie_secret": "<generated on first start>",
}


class SettingLine(msgspec.Struct, frozen=True):
    """One effective setting: dotted key, display value (masked if secret) and its origin."""

    key: str
    value: str
    source: str


def mask_value(key: str, value: Any) -> Any:
    """``value`` as it may be shown: credentials masked by name, and taken out of every URL."""
    return mask_setting(key, value)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _render(key: str, value: Any) -> str:
    if value is None and key in GENERATED:
        return GENERATED[key]
    return json.dumps(mask_value(key, value), ensure_ascii=False)


def describe_settings(loaded: LoadedSettings) -> list[SettingLine]:
    """Every effective setting in declaration order (paths absolute, the filesystem root in ``blob_root``), with
    its masked value and source."""
    flat = _flatten(msgspec.to_builtins(loaded.settings))
    return [
        SettingLine(key=key, value=_render(key, value), source=source_of(key, loaded.sources))
        for key, value in flat.items()
    ]
