"""Cheap log processors: the per-request access line must not cost a measurable share of a request.

Each class here produces exactly what its structlog counterpart produces for the common case (no exception, no
stack) and hands the rare cases to that counterpart, so the output is unchanged, only faster.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from types import CodeType
from typing import Any

import msgspec
import structlog

__all__ = [
    "NEEDS_QUOTES",
    "CallerModule",
    "DirectLogger",
    "DirectLoggerFactory",
    "LeanBoundLogger",
    "LeanConsoleRenderer",
    "LeanJsonRenderer",
    "Timestamper",
    "console_head",
    "context_values",
    "filter_by_level",
    "merge_contextvars",
]

_TIMESTAMP_DIGITS = {"seconds": 0, "millis": 3, "micros": 6, "nanos": 6}
NEEDS_QUOTES = frozenset(" \t=\r\n\"'")
_LEVEL_WIDTH = 9
_EVENT_WIDTH = 30
_HEADS_KEPT = 256
_SKIPPED_MODULES = (
    "structlog",
    "logging",
    "pyregistry_infrastructure.log_rendering",
    "pyregistry_infrastructure.access_line",
)

EventDict = MutableMapping[str, Any]


class Timestamper:
    """UTC ISO-8601 timestamps with the configured precision; the date and time part is formatted once a second."""

    def __init__(self, precision: str) -> None:
        self._digits = _TIMESTAMP_DIGITS.get(precision, 0)
        self._second = -1
        self._prefix = ""
        self._whole = "Z"

    def __call__(self, logger: Any, method: str, event: EventDict) -> EventDict:
        event["timestamp"] = self.now()
        return event

    def now(self) -> str:
        """The timestamp of this moment."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._whole = self._prefix + "Z"
            self._second = second
        if self._digits:
            return f"{self._prefix}.{f'{int((now - second) * 1_000_000):06d}'[: self._digits]}Z"
        return self._whole


class CallerModule:
    """``module``: the calling module's file stem (the record's for stdlib records); which code objects belong to
    logging machinery, and each file's stem, are remembered after the first look."""

    def __init__(self) -> None:
        self._stems: dict[str, str] = {}
        self._machinery: dict[CodeType, bool] = {}

    def __call__(self, logger: Any, method: str, event: EventDict) -> EventDict:
        record: logging.LogRecord | None = event.get("_record")
        if record is not None and not event.get("_from_structlog", False):
            event["module"] = record.module
            return event
        machinery = self._machinery
        frame = sys._getframe(1)
        while frame.f_back is not None:
            code = frame.f_code
            skipped = machinery.get(code)
            if skipped is None:
                skipped = machinery[code] = str(frame.f_globals.get("__name__", "")).startswith(_SKIPPED_MODULES)
            if not skipped:
                break
            frame = frame.f_back
        filename = frame.f_code.co_filename
        stem = self._stems.get(filename)
        if stem is None:
            stem = self._stems[filename] = Path(filename).stem
        event["module"] = stem
        return event


class LeanConsoleRenderer:
    """structlog's ``ConsoleRenderer(colors=False)`` line, built directly; exceptions and stacks go to the full one."""

    def __init__(self, full: structlog.typing.Processor) -> None:
        self._full = full
        self._heads: dict[tuple[object, ...], str] = {}

    def __call__(self, logger: Any, method: str, event: EventDict) -> str:
        if "exception" in event or "exc_info" in event or "stack" in event:
            return str(self._full(logger, method, event))
        pop = event.pop
        key: tuple[Any, Any, Any, Any, Any] = (
            pop("timestamp", None),
            pop("level", None),
            pop("event", None),
            pop("logger", None),
            pop("logger_name", None),
        )
        head = self._heads.get(key) if _cacheable(key) else None
        if head is None:
            head = console_head(*key)
            if _cacheable(key):
                if len(self._heads) >= _HEADS_KEPT:
                    self._heads.clear()  # mostly old seconds' timestamps, never asked for again
                self._heads[key] = head
        fields = " ".join(
            [
                f"{name}={value}" if isinstance(value, str) and NEEDS_QUOTES.isdisjoint(value) else f"{name}={value!r}"
                for name, value in sorted(event.items())
            ]
        )
        return (f"{head} {fields}" if head and fields else head or fields).rstrip(" ")


def _cacheable(key: tuple[object, ...]) -> bool:
    """Whether a line's head can be remembered: plain strings (the event can be any object, rendered by ``str``)."""
    timestamp, level, message, logger, logger_name = key
    return (
        timestamp.__class__ is str
        and level.__class__ is str
        and message.__class__ is str
        and (logger is None or logger.__class__ is str)
        and (logger_name is None or logger_name.__class__ is str)
    )


def console_head(timestamp: object, level: object, message: object, logger: object, logger_name: object) -> str:
    """Timestamp, level, event and logger name as structlog's console renderer lays them out."""
    parts: list[str] = []
    if timestamp is not None:
        parts.append(str(timestamp))
    if level is not None:
        parts.append(f"[{level:<{_LEVEL_WIDTH}}]")
    if message is not None:
        parts.append(f"{message!s:<{_EVENT_WIDTH}}")
    if logger is not None:
        parts.append(f"[{logger}]")
    if logger_name is not None:
        parts.append(f"[{logger_name}]")
    return " ".join(filter(None, parts))


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


def merge_contextvars(logger: Any, method: str, event: EventDict) -> EventDict:
    """structlog's ``merge_contextvars`` without copying the whole context: only structlog's own variables are read
    (the server's context holds many others, from asyncio and the framework)."""
    for key, value in context_values():
        event.setdefault(key, value)
    return event


def context_values() -> list[tuple[str, Any]]:
    """The bound structlog context variables, as ``merge_contextvars`` would merge them."""
    found = []
    for key, variable in list(_STRUCTLOG_VARIABLES.items()):
        value = variable.get(Ellipsis)
        if value is not Ellipsis:
            found.append((key[_PREFIX_LENGTH:], value))
    return found


_STRUCTLOG_VARIABLES = structlog.contextvars._CONTEXT_VARS
_PREFIX_LENGTH = structlog.contextvars.STRUCTLOG_KEY_PREFIX_LEN


def filter_by_level(logger: DirectLogger, method: str, event: EventDict) -> EventDict:
    """structlog's ``filter_by_level`` for ``DirectLogger``: the stdlib logger's cached level check, no walk up the
    logger tree per line."""
    if logger.accepts(_LEVELS[method]):
        return event
    raise structlog.DropEvent


_LEVELS = {"critical": 50, "exception": 40, "error": 40, "warn": 30, "warning": 30, "info": 20, "debug": 10}


class LeanBoundLogger(structlog.stdlib.BoundLogger):
    """structlog's stdlib ``BoundLogger`` with the common level methods one call away from the processor chain."""

    def _lean(self, method: str, event: str | None, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        if args:
            kw["positional_args"] = args
        try:
            line_args, line_kw = self._process_event(method, event, kw)
        except structlog.DropEvent:
            return None
        return getattr(self._logger, method)(*line_args, **line_kw)

    def debug(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._lean("debug", event, args, kw)

    def info(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._lean("info", event, args, kw)

    def warning(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._lean("warning", event, args, kw)

    warn = warning

    def error(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        return self._lean("error", event, args, kw)


class DirectLogger:
    """The stdlib logger's name and level, but rendered structlog lines go straight to the shared handler's stream
    (no ``LogRecord``, no second formatting pass)."""

    def __init__(self, name: str, handler: logging.StreamHandler[Any], descriptor: int | None) -> None:
        self._std = logging.getLogger(name)
        self._handler = handler
        self._descriptor = descriptor
        self.name = name
        # from Python 3.14 isEnabledFor() answers False while a record is in flight; structlog avoids it for that
        self.accepts = self._std.isEnabledFor if sys.version_info < (3, 14) else self._level_at_least

    def _level_at_least(self, level: int) -> bool:
        return not self._std.disabled and level >= self._std.getEffectiveLevel()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._std, attribute)

    def _write(self, line: str, *args: object, **kwargs: object) -> None:
        handler = self._handler
        handler.acquire()
        try:
            if self._descriptor is None:
                stream = handler.stream
                stream.write(line + "\n")
                stream.flush()
            else:
                os.write(self._descriptor, (line + "\n").encode(errors="backslashreplace"))
        except (ValueError, OSError):
            return  # a closed or broken stream never fails the caller (stdlib handlers behave the same)
        finally:
            handler.release()

    debug = info = warning = warn = error = critical = fatal = exception = msg = write_line = _write


def _descriptor_of(stream: Any) -> int | None:
    """The file descriptor to write lines to in one ``os.write``: only for a stream that is a plain UTF-8 file
    (stderr, a redirected file) with nothing buffered; other streams (``StringIO``, wrappers) get ``write``."""
    try:
        if not isinstance(stream, io.TextIOWrapper) or stream.encoding.lower().replace("-", "") != "utf8":
            return None
        stream.flush()
        return stream.fileno()
    except (ValueError, OSError):
        return None


class DirectLoggerFactory:
    """structlog logger factory for ``DirectLogger``: named after the caller's module, like stdlib's factory; one
    logger per name for this configuration."""

    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self._handler = handler
        self._names = structlog.stdlib.LoggerFactory(ignore_frame_names=[__name__])
        self._loggers: dict[str, DirectLogger] = {}
        self._descriptor = _descriptor_of(handler.stream)

    def __call__(self, *args: Any) -> DirectLogger:
        name = args[0] if args else self._names(*args).name
        logger = self._loggers.get(name)
        if logger is None:
            logger = self._loggers[name] = DirectLogger(name, self._handler, self._descriptor)
        return logger
