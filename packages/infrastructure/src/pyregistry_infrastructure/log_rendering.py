"""Cheap log processors: the per-request access line must not cost a measurable share of a request.

Each class here produces exactly what its structlog counterpart produces for the common case (no exception, no
stack) and hands the rare cases to that counterpart, so the output is unchanged, only faster.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import msgspec
import structlog

__all__ = ["CallerModule", "DirectLoggerFactory", "LeanConsoleRenderer", "LeanJsonRenderer", "Timestamper"]

_TIMESTAMP_DIGITS = {"seconds": 0, "millis": 3, "micros": 6, "nanos": 6}
_QUOTED = frozenset(" \t=\r\n\"'")
_RARE_KEYS = ("exception", "exc_info", "stack")
_LEVEL_WIDTH = 9
_EVENT_WIDTH = 30
_SKIPPED_MODULES = ("structlog", "logging", "pyregistry_infrastructure.log_rendering")

EventDict = MutableMapping[str, Any]


class Timestamper:
    """UTC ISO-8601 timestamps with the configured precision; the date and time part is formatted once a second."""

    def __init__(self, precision: str) -> None:
        self._digits = _TIMESTAMP_DIGITS.get(precision, 0)
        self._second = -1
        self._prefix = ""

    def __call__(self, logger: Any, method: str, event: EventDict) -> EventDict:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        if self._digits:
            fraction = f"{int((now - second) * 1_000_000):06d}"[: self._digits]
            event["timestamp"] = f"{self._prefix}.{fraction}Z"
        else:
            event["timestamp"] = self._prefix + "Z"
        return event


class CallerModule:
    """``module``: the calling module's file stem (the record's for stdlib records); file names are cached."""

    def __init__(self) -> None:
        self._stems: dict[str, str] = {}

    def __call__(self, logger: Any, method: str, event: EventDict) -> EventDict:
        record: logging.LogRecord | None = event.get("_record")
        if record is not None and not event.get("_from_structlog", False):
            event["module"] = record.module
            return event
        frame = sys._getframe(1)
        while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith(_SKIPPED_MODULES):
            frame = frame.f_back
        filename = frame.f_code.co_filename
        stem = self._stems.get(filename)
        if stem is None:
            stem = self._stems[filename] = Path(filename).stem
        event["module"] = stem
        return event


def _value(value: object) -> str:
    if isinstance(value, str):
        return repr(value) if _QUOTED.intersection(value) else value
    return repr(value)


class LeanConsoleRenderer:
    """structlog's ``ConsoleRenderer(colors=False)`` line, built directly; exceptions and stacks go to the full one."""

    def __init__(self, full: structlog.typing.Processor) -> None:
        self._full = full

    def __call__(self, logger: Any, method: str, event: EventDict) -> str:
        if any(key in event for key in _RARE_KEYS):
            return str(self._full(logger, method, event))
        parts: list[str] = []
        if (timestamp := event.pop("timestamp", None)) is not None:
            parts.append(str(timestamp))
        if (level := event.pop("level", None)) is not None:
            parts.append(f"[{level:<{_LEVEL_WIDTH}}]")
        if (message := event.pop("event", None)) is not None:
            parts.append(f"{message!s:<{_EVENT_WIDTH}}")
        for key in ("logger", "logger_name"):
            if (name := event.pop(key, None)) is not None:
                parts.append(f"[{name}]")
        parts.extend(f"{key}={_value(event[key])}" for key in sorted(event))
        return " ".join(part for part in parts if part).rstrip(" ")


class LeanJsonRenderer:
    """One JSON object per line via msgspec; what msgspec cannot encode goes to structlog's ``JSONRenderer``."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder(enc_hook=repr)
        self._full = structlog.processors.JSONRenderer()

    def __call__(self, logger: Any, method: str, event: EventDict) -> str:
        try:
            return self._encoder.encode(event).decode()
        except (TypeError, msgspec.EncodeError):
            return str(self._full(logger, method, event))


class _DirectLogger:
    """The stdlib logger's name and level, but rendered structlog lines go straight to the shared handler's stream
    (no ``LogRecord``, no second formatting pass)."""

    def __init__(self, name: str, handler: logging.StreamHandler[Any]) -> None:
        self._std = logging.getLogger(name)
        self._handler = handler

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._std, attribute)

    def _write(self, line: str, *args: object, **kwargs: object) -> None:
        handler = self._handler
        handler.acquire()
        try:
            handler.stream.write(line + "\n")
            handler.flush()
        except (ValueError, OSError):
            return  # a closed or broken stream never fails the caller (stdlib handlers behave the same)
        finally:
            handler.release()

    debug = info = warning = warn = error = critical = fatal = exception = msg = _write


class DirectLoggerFactory:
    """structlog logger factory for ``_DirectLogger``: named after the caller's module, like stdlib's factory."""

    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self._handler = handler
        self._names = structlog.stdlib.LoggerFactory(ignore_frame_names=[__name__])

    def __call__(self, *args: Any) -> _DirectLogger:
        name = args[0] if args else self._names(*args).name
        return _DirectLogger(name, self._handler)
