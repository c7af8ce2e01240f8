"""Progress of a command working through many files, on stderr: a bar on a terminal, one line per file otherwise."""

from __future__ import annotations

import sys
import threading
from contextlib import ExitStack
from typing import Any

import click

__all__ = ["FileProgress"]


class FileProgress:
    """A progress bar on a terminal; one line per file otherwise (cron, CI logs). ``advance`` may be called from
    several worker threads."""

    def __init__(self, stack: ExitStack, verb: str) -> None:
        self._stack = stack
        self._verb = verb
        self._bar: Any = None
        self._total = 0
        self._done = 0
        self._lock = threading.Lock()

    def start(self, total: int) -> None:
        """Announce ``total`` files."""
        self._total = total
        if sys.stderr.isatty():
            self._bar = self._stack.enter_context(
                click.progressbar(length=total, label=f"{self._verb} files", file=sys.stderr, show_pos=True)
            )
        else:
            click.echo(f"{self._verb} {total} file(s)", err=True)

    def advance(self, line: str) -> None:
        """One more file done; ``line`` describes it when no bar is shown."""
        with self._lock:
            self._done += 1
            if self._bar is not None:
                self._bar.update(1)
            else:
                click.echo(f"[{self._done}/{self._total}] {line}", err=True)
