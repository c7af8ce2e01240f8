"""A small blocking connection pool for drivers without one (pymssql)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["BlockingPool", "PoolExhausted", "PoolLimits"]

C = TypeVar("C")


class PoolExhausted(Exception):
    """No connection became free within the acquire timeout."""


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """``[postgres]`` / ``[sql_server]`` pool settings; ``ValueError`` when they contradict each other."""

    max_connections: int = 20
    min_connections: int = 2
    acquire_timeout_seconds: float = 10

    def __post_init__(self) -> None:
        if self.max_connections < 1 or not 0 <= self.min_connections <= self.max_connections:
            raise ValueError(
                f"need 0 <= min_connections ({self.min_connections}) <= max_connections ({self.max_connections}) "
                "and at least 1"
            )

    def exhausted(self, database: str, section: str) -> str:
        """The message for a request that waited the whole acquire timeout."""
        timeout = self.acquire_timeout_seconds
        return (
            f"no {database} connection became free within {timeout:g}s "
            f"({section}.max_connections = {self.max_connections}, {section}.acquire_timeout_seconds = {timeout:g})"
        )


class BlockingPool(Generic[C]):
    """Keeps ``min_size`` connections open, opens more up to ``max_size`` on demand, and makes callers wait at
    most ``timeout`` seconds for one. A connection whose block raised one of ``discard_on`` is closed, not reused."""

    def __init__(
        self,
        connect: Callable[[], C],
        close: Callable[[C], None],
        *,
        min_size: int,
        max_size: int,
        timeout: float,
        discard_on: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._connect = connect
        self._close = close
        self._max = max_size
        self._timeout = timeout
        self._discard_on = discard_on
        self._idle: list[C] = []
        self._size = 0
        self._closed = False
        self._cond = threading.Condition()
        for _ in range(min_size):
            self._idle.append(connect())
            self._size += 1

    def _acquire(self, timeout: float) -> C:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise PoolExhausted("the pool is closed")
                if self._idle:
                    return self._idle.pop()
                if self._size < self._max:
                    self._size += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolExhausted(f"no connection became free within {timeout:g}s (max {self._max})")
                self._cond.wait(remaining)
        try:
            return self._connect()
        except BaseException:
            self._release_slot()
            raise

    def _release_slot(self) -> None:
        with self._cond:
            self._size -= 1
            self._cond.notify()

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[C]:
        """Borrow a connection for the block."""
        conn = self._acquire(self._timeout if timeout is None else timeout)
        try:
            yield conn
        except self._discard_on:
            self._close(conn)
            self._release_slot()
            raise
        except BaseException:
            self._give_back(conn)
            raise
        self._give_back(conn)

    def _give_back(self, conn: C) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(conn)
                self._cond.notify()
                return
            self._size -= 1
        self._close(conn)

    @property
    def size(self) -> int:
        """Open connections, idle or borrowed."""
        return self._size

    def close(self) -> None:
        """Close idle connections now and borrowed ones when they come back."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._size -= len(idle)
            self._cond.notify_all()
        for conn in idle:
            self._close(conn)
