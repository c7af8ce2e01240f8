"""structlog configuration from the ``[logging]`` settings.

structlog and the standard library (uvicorn, litestar) both end in one stderr handler, rendered as console
lines or JSON objects. Context variables (the per-request ``request_id``) are merged into every line.
``filter`` is ``LEVEL`` or ``LEVEL,logger=LEVEL,...`` (e.g. ``info,pyregistry_web=debug,uvicorn=warning``).
The HTTP client loggers (``httpx``, ``httpcore``) stay at ``warning`` unless the filter names them: they print
whole request URLs, and webhook URLs carry their secret in the path or query.
"""

from __future__ import annotations

import logging
import sys

import structlog

from pyregistry_infrastructure.access_line import activate_access_lines
from pyregistry_infrastructure.log_filter import parse_filter
from pyregistry_infrastructure.log_rendering import (
    CallerModule,
    DirectLoggerFactory,
    LeanBoundLogger,
    LeanConsoleRenderer,
    LeanJsonRenderer,
    Timestamper,
    filter_by_level,
    merge_contextvars,
)
from pyregistry_infrastructure.settings import LoggingSettings

__all__ = ["configure_logging", "parse_filter"]

_URL_LOGGING_CLIENTS = ("httpx", "httpcore")


def _shared_processors(settings: LoggingSettings) -> list[structlog.typing.Processor]:
    processors: list[structlog.typing.Processor] = [
        merge_contextvars,
        structlog.stdlib.add_log_level,
    ]
    if settings.timestamp != "off":
        processors.append(Timestamper(settings.timestamp))
    if settings.target:
        processors.append(structlog.stdlib.add_logger_name)
    if settings.module_path:
        processors.append(CallerModule())
    return processors


def configure_logging(settings: LoggingSettings) -> None:
    """Route structlog and stdlib logging to one stderr handler, as console lines or JSON."""
    default_level, per_logger = parse_filter(settings.filter)
    shared = _shared_processors(settings)
    renderer: structlog.typing.Processor
    if settings.format == "json":
        renderer = LeanJsonRenderer()
    else:
        # plain tracebacks: the default rich ones print every frame's locals, secrets and auth headers included
        renderer = LeanConsoleRenderer(
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
        )
    # JSON carries tracebacks as text; the console renderer formats exceptions itself
    exceptions: list[structlog.typing.Processor] = (
        [structlog.processors.format_exc_info] if settings.format == "json" else []
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *exceptions, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(default_level)
    for name in _URL_LOGGING_CLIENTS:
        logging.getLogger(name).setLevel(max(logging.WARNING, default_level))
    for name, level in per_logger.items():
        logging.getLogger(name).setLevel(level)
    factory = DirectLoggerFactory(handler)
    structlog.configure(
        processors=[filter_by_level, *shared, *exceptions, renderer],
        wrapper_class=LeanBoundLogger,
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    activate_access_lines(
        factory,
        as_json=settings.format == "json",
        timestamp=settings.timestamp,
        target=settings.target,
        module_path=settings.module_path,
    )
