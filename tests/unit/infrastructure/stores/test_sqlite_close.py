"""Closing the SQLite database while another thread is inside a statement (a job left running at shutdown) waits
for that statement instead of closing its connection under it, which crashed the interpreter."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase


def test_close_waits_for_a_connection_another_thread_is_using_then_closes_it(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "registry.db")
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []
    held: list[sqlite3.Connection] = []

    def job() -> None:
        with db.connection() as conn:
            held.append(conn)
            inside.set()
            release.wait(5)
            seen.append(conn.execute("SELECT value FROM serial_counter WHERE id = 1").fetchone()[0])

    worker = threading.Thread(target=job)
    worker.start()
    assert inside.wait(5)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    db.close()
    waited = time.monotonic() - started
    worker.join(5)
    assert seen == [0], "the statement ran to its end on an open connection"
    assert waited >= 0.25, "close waited for the statement"
    with pytest.raises(sqlite3.ProgrammingError):
        held[0].execute("SELECT 1")


def test_a_thread_that_goes_on_after_close_gets_a_new_connection(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "registry.db")
    db.close()
    try:
        assert db.rows("SELECT value FROM serial_counter WHERE id = 1") == [{"value": 0}]
    finally:
        db.close()
