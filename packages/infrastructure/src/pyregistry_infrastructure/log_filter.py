"""Parsing the ``logging.filter`` setting (``LEVEL`` or ``LEVEL,logger=LEVEL,...``) without importing structlog."""

from __future__ import annotations

import logging

__all__ = ["parse_filter"]

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 10,
}


def _level_of(text: str) -> int:
    level = _LEVELS.get(text.strip().lower())
    if level is None:
        raise ValueError(f"{text.strip()!r} is not one of {', '.join(_LEVELS)}")
    return level


def parse_filter(filter_text: str) -> tuple[int, dict[str, int]]:
    """``"info,uvicorn=warning"`` -> (INFO, {"uvicorn": WARNING}); raises ValueError on unknown levels."""
    default = logging.INFO
    per_logger: dict[str, int] = {}
    for part in filter_text.split(","):
        if not part.strip():
            continue
        name, sep, level = part.partition("=")
        if sep:
            per_logger[name.strip().replace("::", ".")] = _level_of(level)
        else:
            default = _level_of(name)
    return default, per_logger
