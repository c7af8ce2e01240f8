"""The ``Tracer`` port on the OpenTelemetry SDK (the optional ``tracing`` extra), exported as the standard
``OTEL_*`` environment variables say: ``OTEL_TRACES_EXPORTER`` (``otlp`` by default, ``console`` or ``none``),
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``OTEL_SERVICE_NAME`` and the rest.

Import this module only when tracing is on: the SDK takes a noticeable time to import.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import Status, StatusCode

from pyregistry_application.tracing_ports import Span, SpanAttributes

__all__ = ["DEFAULT_SERVICE_NAME", "OpenTelemetryTracer", "TracedCalls", "exporter_from_environment", "tracer_provider"]

DEFAULT_SERVICE_NAME = "pyregistry"


def exporter_from_environment() -> SpanExporter | None:
    """The exporter ``OTEL_TRACES_EXPORTER`` names; ``ValueError`` for one this build does not offer."""
    name = (os.environ.get("OTEL_TRACES_EXPORTER") or "otlp").strip().lower()
    if name == "none":
        return None
    if name == "console":
        return ConsoleSpanExporter()
    if name in {"otlp", "otlp_proto_http"}:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not one of otlp, console, none")


def tracer_provider(processor: SpanProcessor | None = None) -> TracerProvider:
    """A provider for this service (``OTEL_SERVICE_NAME``, default ``pyregistry``) with ``processor``, or a batch
    processor over the environment's exporter."""
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: DEFAULT_SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    if processor is None:
        exporter = exporter_from_environment()
        processor = BatchSpanProcessor(exporter) if exporter is not None else None
    if processor is not None:
        provider.add_span_processor(processor)
    return provider


class OpenTelemetryTracer:
    """Implements ``Tracer`` with an SDK provider; spans nest through OpenTelemetry's context (contextvars)."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("pyregistry")
        self._shut_down = False

    @contextmanager
    def span(self, name: str, attributes: SpanAttributes | None = None) -> Iterator[Span]:
        """A span for the block; an exception marks it as an error and is recorded."""
        with self._tracer.start_as_current_span(name, attributes=dict(attributes or {})) as span:
            try:
                yield span
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    def shutdown(self) -> None:
        """Export what is buffered and stop the exporter (once; later calls do nothing)."""
        if not self._shut_down:
            self._shut_down = True
            self.provider.shutdown()


class TracedCalls:
    """Wraps every public method of ``target`` in a span named ``{prefix}.{method}`` (storage operators, the
    upstream index); attributes and everything else pass through."""

    def __init__(self, target: object, prefix: str, tracer: OpenTelemetryTracer) -> None:
        self._target = target
        self._prefix = prefix
        self._tracer = tracer

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("_") or not callable(value):
            return value
        return self._traced(f"{self._prefix}.{name}", value)

    def _traced(self, span_name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def traced(*args: Any, **kwargs: Any) -> Any:
            with self._tracer.span(span_name):
                return call(*args, **kwargs)

        return traced
