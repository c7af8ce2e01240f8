"""Side work on daemon threads: verifications a streamed download waits on."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future

__all__ = ["SideThreads"]


class SideThreads:
    """Each call gets a daemon thread (one stuck on a dead upstream never holds up the process's exit); at most
    ``max_running`` run at once, later ones wait for a slot (their callers keep waiting, which a streamed download
    covers with heartbeats)."""

    def __init__(self, max_running: int = 8, *, name: str = "side-work") -> None:
        self._slots = threading.BoundedSemaphore(max(1, max_running))
        self._name = name
        self._closed = False

    def start(self, work: Callable[[], None]) -> Future[None]:
        """Run ``work`` in the caller's context variables; ``RuntimeError`` after :meth:`shutdown`."""
        if self._closed:
            raise RuntimeError("side work is shut down")
        outcome: Future[None] = Future()
        context = contextvars.copy_context()

        def run() -> None:
            with self._slots:
                if not outcome.set_running_or_notify_cancel():
                    return
                try:
                    context.run(work)
                except BaseException as exc:
                    outcome.set_exception(exc)
                else:
                    outcome.set_result(None)

        threading.Thread(target=run, name=self._name, daemon=True).start()
        return outcome

    def shutdown(self) -> None:
        """Refuse new work; calls under way finish on their own."""
        self._closed = True
