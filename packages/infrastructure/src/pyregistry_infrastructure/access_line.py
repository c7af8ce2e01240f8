"""The per-request ``request finished`` line, written without structlog's processor chain.

It is the one line every request pays for, so it is built directly: the same text (console) or the same JSON
object as the configured structlog chain would write for it (tests compare them), with the timestamp formatted
once a second and the line written in one call. Any other logging stays on structlog.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import structlog

from pyregistry_infrastructure.log_rendering import (
    NEEDS_QUOTES,
    DirectLogger,
    DirectLoggerFactory,
    Timestamper,
    console_head,
    context_values,
)

__all__ = ["ACCESS_EVENT", "AccessLine", "activate_access_lines"]

ACCESS_EVENT = "request finished"
_INFO = 20
_CHAIN_KEYS = frozenset(
    {"event", "level", "timestamp", "logger", "logger_name", "module", "exception", "exc_info", "stack"}
)
"""Keys the structlog chain sets or renders specially: a bound context value under one of them takes that path."""


class _AccessFormat:
    """What the active logging configuration puts in an access line, and where the line goes."""

    def __init__(
        self,
        factory: DirectLoggerFactory,
        *,
        as_json: bool,
        timestamp: str,
        target: bool,
        module_path: bool,
    ) -> None:
        self.factory = factory
        self.as_json = as_json
        self.stamped = timestamp != "off"
        self.timestamp = Timestamper(timestamp).now
        self.target = target
        self.module_path = module_path
        self.encoder = msgspec.json.Encoder(enc_hook=repr)
        self.loggers: dict[str, tuple[DirectLogger, str]] = {}
        self.plans: dict[tuple[str, str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}

    def logger(self, name: str) -> tuple[DirectLogger, str]:
        """The direct logger for ``name`` and the console head's text after the timestamp."""
        known = self.loggers.get(name)
        if known is None:
            logger = self.factory(name)
            known = self.loggers[name] = (
                logger,
                console_head(None, "info", ACCESS_EVENT, name if self.target else None, None),
            )
        return known

    def console_plan(self, head: str, module: str, names: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
        """The console line after the timestamp as a ``str.format`` template, and which event values fill it:
        fields sorted by name, as structlog's console renderer sorts them, the ``module`` field written in."""
        key = (head, module, names)
        plan = self.plans.get(key)
        if plan is None:
            fields = dict.fromkeys(names, "")
            if self.module_path:
                fields["module"] = module
            order = tuple(name for name in sorted(fields) if name in names)
            parts = [
                f"{name}={{{order.index(name)}}}" if name in names else f"{name}={_escaped(_text(fields[name]))}"
                for name in sorted(fields)
            ]
            plan = self.plans[key] = (f"{_escaped(head)} {' '.join(parts)}".rstrip(" "), order)
        return plan


def _escaped(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


_active: _AccessFormat | None = None


def activate_access_lines(
    factory: DirectLoggerFactory, *, as_json: bool, timestamp: str, target: bool, module_path: bool
) -> None:
    """Make access lines follow the logging configuration just applied (called by ``configure_logging``)."""
    global _active
    _active = _AccessFormat(factory, as_json=as_json, timestamp=timestamp, target=target, module_path=module_path)


class AccessLine:
    """Writes one ``request finished`` line for a request: method, path, status, duration and the bound context
    (the request id), at ``info`` on logger ``logger_name``, from the module named ``module``.

    On an event loop, the lines of the requests that finish in one turn of the loop go out together in one write
    at the end of that turn (under load, one system call for many lines; idle, each line at once). Elsewhere each
    line is written when it is made."""

    def __init__(self, logger_name: str, module: str) -> None:
        self._name = logger_name
        self._module = module
        self._fallback = structlog.get_logger(logger_name)
        self._pending: dict[DirectLogger, list[str]] = {}

    def __call__(self, method: str, path: str, status: int, duration_ms: float) -> None:
        active = _active
        if active is None:
            self._fallback.info(ACCESS_EVENT, method=method, path=path, status=status, duration_ms=duration_ms)
            return
        logger, head = active.logger(self._name)
        if not logger.accepts(_INFO):
            return
        event: dict[str, Any] = {"method": method, "path": path, "status": status, "duration_ms": duration_ms}
        if active.as_json:
            event["event"] = ACCESS_EVENT
        for key, value in context_values():
            if key in _CHAIN_KEYS:
                self._fallback.info(ACCESS_EVENT, method=method, path=path, status=status, duration_ms=duration_ms)
                return
            event.setdefault(key, value)
        if active.as_json:
            event["level"] = "info"
            if active.stamped:
                event["timestamp"] = active.timestamp()
            if active.target:
                event["logger"] = self._name
            if active.module_path:
                event["module"] = self._module
            self._emit(logger, active.encoder.encode(event).decode())
            return
        template, order = active.console_plan(head, self._module, tuple(event))
        line = template.format(*[_text(event[name]) for name in order])
        self._emit(logger, f"{active.timestamp()} {line}" if active.stamped else line)

    def _emit(self, logger: DirectLogger, line: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            logger.write_line(line)
            return
        pending = self._pending.get(logger)
        if pending is None:
            self._pending[logger] = [line]
            loop.call_soon(self._flush, logger)
        else:
            pending.append(line)

    def _flush(self, logger: DirectLogger) -> None:
        lines = self._pending.pop(logger, None)
        if lines:
            logger.write_line("\n".join(lines))


def _text(value: object) -> str:
    """A field's value as the console renderer prints it: bare when it is text without spaces, quotes or ``=``."""
    return value if isinstance(value, str) and NEEDS_QUOTES.isdisjoint(value) else repr(value)
