"""The direct access line writes what the configured structlog chain writes for the same request."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from pyregistry_infrastructure import access_line
from pyregistry_infrastructure.access_line import AccessLine
from pyregistry_infrastructure.logging_setup import configure_logging
from pyregistry_infrastructure.settings import LoggingSettings

_LOGGER = "pyregistry_web.requests"
_MODULE = "test_access_line"  # the structlog chain names the calling module: this one
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """A buffer that ``configured`` points logging at; the previous logging configuration is restored after."""
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_active = access_line._active
    try:
        yield io.StringIO()
    finally:
        structlog.configure(**saved_structlog)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.getLogger(_LOGGER).setLevel(logging.NOTSET)
        access_line._active = saved_active


def configured(stream: io.StringIO, **settings: Any) -> None:
    """``configure_logging`` with ``stream`` as its stderr."""
    saved, sys.stderr = sys.stderr, stream
    try:
        configure_logging(LoggingSettings(**settings))
    finally:
        sys.stderr = saved


def _both_lines(stream: io.StringIO, path: str = "/t/acme/simple/a/", **context: Any) -> tuple[str, str]:
    """The line the structlog chain writes and the line ``AccessLine`` writes, for one request."""
    tokens = structlog.contextvars.bind_contextvars(request_id="0123456789abcdef", **context)
    try:
        structlog.get_logger(_LOGGER).info("request finished", method="GET", path=path, status=200, duration_ms=0.4)
        AccessLine(_LOGGER, _MODULE)("GET", path, 200, 0.4)
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
    chain, direct = stream.getvalue().splitlines()
    return _STAMP.sub("<time>", chain), _STAMP.sub("<time>", direct)


_SETTINGS = [
    {"format": "console"},
    {"format": "console", "timestamp": "off", "module_path": False},
    {"format": "console", "timestamp": "millis", "target": True},
    {"format": "console", "timestamp": "micros", "target": True, "module_path": False},
    {"format": "console", "timestamp": "fortnights"},
]


@pytest.mark.parametrize("settings", _SETTINGS)
@pytest.mark.parametrize("path", ["/healthz", "/a b/'quoted'", "/k=v", ""])
def test_console_lines_equal_the_structlog_chains(log_stream: io.StringIO, settings: dict[str, Any], path: str) -> None:
    configured(log_stream, **settings)
    chain, direct = _both_lines(log_stream, path)
    assert direct == chain
    assert "request finished" in direct
    assert "request_id=0123456789abcdef" in direct


@pytest.mark.parametrize("settings", [{}, {"timestamp": "off"}, {"target": True, "module_path": False}])
def test_json_lines_equal_the_structlog_chains(log_stream: io.StringIO, settings: dict[str, Any]) -> None:
    configured(log_stream, format="json", **settings)
    chain, direct = _both_lines(log_stream, "/a b")
    assert direct == chain
    assert json.loads(direct)["path"] == "/a b"


def test_other_bound_context_is_in_the_line(log_stream: io.StringIO) -> None:
    configured(log_stream, format="console")
    chain, direct = _both_lines(log_stream, tenant="acme", note="two words")
    assert direct == chain
    assert "tenant=acme" in direct
    assert "note='two words'" in direct


def test_context_under_a_chain_key_takes_the_structlog_path(log_stream: io.StringIO) -> None:
    configured(log_stream, format="console", timestamp="off")
    chain, direct = _both_lines(log_stream, module="bound")
    assert direct == chain


def test_nothing_is_written_below_the_loggers_level(log_stream: io.StringIO) -> None:
    configured(log_stream, filter=f"info,{_LOGGER}=warning")
    AccessLine(_LOGGER, _MODULE)("GET", "/healthz", 200, 0.1)
    assert log_stream.getvalue() == ""


def test_without_configured_logging_the_line_goes_through_structlog(
    log_stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    access_line._active = None
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
    )
    AccessLine(_LOGGER, _MODULE)("POST", "/upload", 201, 2.5)
    assert json.loads(capsys.readouterr().out) == {
        "method": "POST",
        "path": "/upload",
        "status": 201,
        "duration_ms": 2.5,
        "event": "request finished",
    }


class _CountingStream(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_on_an_event_loop_the_lines_of_one_turn_go_out_together_in_order(log_stream: io.StringIO) -> None:
    stream = _CountingStream()
    configured(stream, format="console", timestamp="off")
    line = AccessLine(_LOGGER, _MODULE)

    async def requests() -> tuple[str, str]:
        for number in range(3):
            line("GET", f"/p{number}", 200, 0.1)
        during = stream.getvalue()
        await asyncio.sleep(0)
        after_one_turn = stream.getvalue()
        line("GET", "/later", 404, 0.2)
        await asyncio.sleep(0)
        return during, after_one_turn

    during, after_one_turn = asyncio.run(requests())
    assert during == ""
    assert [text.split("path=")[1].split()[0] for text in after_one_turn.splitlines()] == ["/p0", "/p1", "/p2"]
    assert "path=/later" in stream.getvalue().splitlines()[3]
    assert stream.writes == 2
