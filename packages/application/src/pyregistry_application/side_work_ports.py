"""Work a request waits on but cannot do in its own thread: a streamed first download keeps sending heartbeat bytes
while the file it streamed is verified and scanned beside it.

This is not background work (nothing outlives the request's interest in it, nothing is queued for later); background
work goes through :mod:`pyregistry_application.background_ports`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

__all__ = ["SideWork"]


class SideWork(Protocol):
    """Runs a blocking call beside the calling thread."""

    def start(self, work: Callable[[], None]) -> Future[None]:
        """Run ``work`` now on another thread, in the caller's context variables; its outcome is the future's.
        Raises ``RuntimeError`` once the side work is shut down."""
        ...
