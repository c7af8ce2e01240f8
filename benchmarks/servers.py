"""Starting the servers under test on 127.0.0.1 and measuring their memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

__all__ = ["MemorySampler", "Server", "free_port", "process_tree_rss_mb", "rotated", "start_server"]

T = TypeVar("T")

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def process_tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        pending += _children(current)
    return total_kb / 1024


@dataclass
class Server:
    """A running server process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    auth_header: dict[str, str] = field(default_factory=dict)
    simple_prefix: str = "/simple/"
    files_note: str = ""

    def rss_mb(self) -> float:
        return process_tree_rss_mb(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(
    name: str, command: list[str], port: int, ready_path: str, *, cwd: Path, env: dict[str, str] | None = None
) -> Server:
    """Start ``command`` and wait (at most 60 s) until ``ready_path`` answers."""
    log = cwd / f"{name}.log"
    handle = log.open("ab")
    process = subprocess.Popen(
        command, cwd=cwd, env={**os.environ, **(env or {})}, stdout=handle, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2):
                return Server(name=name, port=port, process=process, log=log)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{name} did not start in 60 s; see {log}")


class MemorySampler:
    """Samples a server's RSS every 20 ms in the background; ``peak`` and ``start`` in MiB."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self._stop = threading.Event()
        self.start = server.rss_mb()
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._server.rss_mb())

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._server.rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def rotated(items: list[T], turn: int) -> list[T]:
    """``items`` starting at position ``turn`` (wrapping): each repetition of a run starts with another server, so
    none always runs first (the first server after a pause measured 5 to 20 % slower here)."""
    if not items:
        return items
    start = turn % len(items)
    return items[start:] + items[:start]
