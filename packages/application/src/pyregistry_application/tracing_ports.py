"""The port through which adapters and the web layer open trace spans, without knowing the tracing library."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

__all__ = ["NoTracer", "Span", "SpanAttributes", "Tracer"]

SpanAttributes = Mapping[str, str | int | float | bool]


class Span(Protocol):
    """An open span."""

    def set_attribute(self, key: str, value: str | int | float | bool) -> None:
        """Attach one attribute."""

    def update_name(self, name: str) -> None:
        """Rename the span (e.g. once the route template is known)."""


class Tracer(Protocol):
    """Opens spans nested under the current one."""

    def span(self, name: str, attributes: SpanAttributes | None = None) -> AbstractContextManager[Span]:
        """A span for the block; an exception leaving it marks the span as failed."""


class _NoSpan:
    def set_attribute(self, key: str, value: str | int | float | bool) -> None:
        """Record nothing."""

    def update_name(self, name: str) -> None:
        """Record nothing."""


_NO_SPAN = nullcontext(_NoSpan())


class NoTracer:
    """Implements ``Tracer`` when tracing is off: one shared, reusable no-op context, so it costs next to nothing."""

    def span(self, name: str, attributes: SpanAttributes | None = None) -> AbstractContextManager[Span]:
        """The shared no-op span."""
        return _NO_SPAN
