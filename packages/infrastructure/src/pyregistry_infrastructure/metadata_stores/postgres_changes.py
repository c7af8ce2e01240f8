"""PostgreSQL's word that something a stamp read joins has changed, so a server can keep stamp answers between
changes instead of asking PostgreSQL on every request.

Migration ``2000_change_notifications`` makes every statement that writes those tables notify channel
``pyregistry_changes`` (payload: the schema) at commit. PostgreSQL signals listeners at commit, before the
writer's own ``COMMIT`` returns, so the notification is on its way before whoever made the change (an upload, a
revocation on any node, the CLI) gets an answer. Each event loop keeps one listening connection:

- its socket is read on every :meth:`ChangeListener.version` call (a non-blocking read, no round trip) and
  whenever the event loop sees it readable; each notification for this schema moves a :class:`ChangeCounter`;
- it is trusted only once a probe notification sent through another connection came back (a transaction-pooling
  PgBouncer, for one, would swallow notifications), and probed again every ``probe_every`` seconds;
- while it is not trusted (starting, probe unanswered, connection lost), :meth:`~ChangeListener.version` says so
  and callers read PostgreSQL every time; a lost connection is reopened with growing pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import structlog
from psycopg.conninfo import conninfo_to_dict

__all__ = ["CHANNEL", "ChangeCounter", "ChangeListener"]

CHANNEL = "pyregistry_changes"
_log = structlog.get_logger(__name__)


class ChangeCounter:
    """A number that takes a value it never had before each time something may have changed; safe to move from
    any thread (each value comes from one ``itertools.count``, so two movers never both leave an old value)."""

    def __init__(self) -> None:
        self._values = itertools.count(1)
        self.value = 0

    def moved(self) -> None:
        """Something may have changed: every answer kept under an earlier value is stale."""
        self.value = next(self._values)


class _Lost(Exception):
    """The listening connection failed or stopped answering probes."""


class ChangeListener:
    """One event loop's listening connection; see the module docstring."""

    def __init__(
        self,
        url: str,
        counter: ChangeCounter,
        send: Callable[[str], Awaitable[None]],
        *,
        probe_every: float = 30.0,
        probe_timeout: float = 5.0,
        retry_at_most: float = 30.0,
    ) -> None:
        self._url = url
        self._counter = counter
        self._send = send
        self._probe_every = probe_every
        self._probe_timeout = probe_timeout
        self._retry_at_most = retry_at_most
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._schema = ""
        self._probe = ""
        self._probe_seen = asyncio.Event()
        self._lost = asyncio.Event()
        self._trusted = False
        self._task: asyncio.Task[None] | None = None

    @property
    def trusted(self) -> bool:
        """True while every notification for this schema reaches :meth:`version`."""
        return self._trusted

    def start(self) -> None:
        """Open and keep the listening connection in a task of the running loop (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._keep_listening(), name="pyregistry-changes")

    def version(self) -> int | None:
        """The counter's value once every notification already received was counted; ``None`` while this
        listener is not trusted (the caller must then read PostgreSQL)."""
        if not self._trusted:
            return None
        self._drain()
        return self._counter.value if self._trusted else None

    async def aclose(self) -> None:
        """Stop listening and close the connection."""
        task, self._task = self._task, None
        for _ in range(3):  # a cancellation a library swallowed is sent again
            if task is None or task.done():
                break
            task.cancel()
            await asyncio.wait({task}, timeout=1)
        await self._close()

    async def _keep_listening(self) -> None:
        pause = 1.0
        while True:
            try:
                await self._listen()
                while True:
                    await self._round_trip()
                    if not self._trusted:
                        self._trusted = True
                        self._counter.moved()
                        _log.info("postgres.change_notifications_trusted", schema=self._schema)
                    pause = 1.0
                    if await _within(self._probe_every, self._lost):
                        raise _Lost("the listening connection failed")
            except Exception as exc:  # whatever failed, the listener stays untrusted until it works again
                _log.warning(
                    "postgres.change_notifications_unavailable",
                    reason=_first_line(exc),
                    retry_in_seconds=pause,
                    effect="stamp reads go to PostgreSQL on every request until notifications arrive again",
                )
            await self._close()
            await asyncio.sleep(pause)
            pause = min(pause * 2, self._retry_at_most)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self._url,
            autocommit=True,
            application_name=_listener_name(self._url),
            connect_timeout=max(1, round(self._probe_timeout)),
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
        self._conn = conn
        self._lost.clear()
        cursor = await conn.execute("SELECT current_schema()")
        found = await cursor.fetchone()
        self._schema = "" if found is None or found[0] is None else str(found[0])
        await conn.execute(f"LISTEN {CHANNEL}")
        asyncio.get_running_loop().add_reader(conn.pgconn.socket, self._drain)

    async def _round_trip(self) -> None:
        """Send a probe through another connection and wait for it here (``TimeoutError`` if it never comes)."""
        self._probe = f"probe {self._schema} {secrets.token_hex(8)}"
        self._probe_seen.clear()
        await self._send(self._probe)
        if not await _within(self._probe_timeout, self._probe_seen):
            raise TimeoutError(f"no probe notification came back within {self._probe_timeout:g}s")
        if self._lost.is_set():
            raise _Lost("the listening connection failed")

    def _drain(self) -> None:
        """Read whatever the server sent (never blocks) and count this schema's notifications."""
        conn = self._conn
        if conn is None or self._lost.is_set():
            return
        try:
            conn.pgconn.consume_input()
            while (note := conn.pgconn.notifies()) is not None:
                payload = note.extra.decode()
                if payload == self._schema:
                    self._counter.moved()
                elif payload == self._probe:
                    self._probe_seen.set()
        except psycopg.Error:
            self._give_up()

    def _give_up(self) -> None:
        """Stop trusting at once; the task closes the connection and opens another."""
        self._trusted = False
        self._counter.moved()
        self._stop_reading()
        self._lost.set()
        self._probe_seen.set()

    def _stop_reading(self) -> None:
        conn = self._conn
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error, RuntimeError, ValueError):
                asyncio.get_running_loop().remove_reader(conn.pgconn.socket)

    async def _close(self) -> None:
        self._trusted = False
        self._counter.moved()
        self._stop_reading()
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


async def _within(seconds: float, event: asyncio.Event) -> bool:
    """Wait at most ``seconds`` for ``event``; whether it was set. (``asyncio.timeout``, not ``wait_for``: on
    Python 3.11 ``wait_for`` can swallow a cancellation that arrives as the event is set.)"""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


def _listener_name(url: str) -> str:
    """The listening connection's ``application_name``: the URL's own (or ``pyregistry``) marked as the
    listener's, so it is told apart from the stamp reads' connections in ``pg_stat_activity``."""
    named = conninfo_to_dict(url).get("application_name") or "pyregistry"
    return f"{named}-changes"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
