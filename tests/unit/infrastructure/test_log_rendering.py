"""The lean log processors print what structlog's own renderers print, through the real logging setup."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from typing import Any

import pytest
import structlog

from pyregistry_infrastructure.log_rendering import (
    DirectLoggerFactory,
    LeanConsoleRenderer,
    LeanJsonRenderer,
    Timestamper,
    filter_by_level,
    merge_contextvars,
)

_EVENTS: list[dict[str, Any]] = [
    {"event": "request finished", "level": "info", "timestamp": "2026-12-05T10:00:00Z", "request_id": "abc"},
    {"event": "x" * 45, "level": "warning", "logger": "pyregistry_web", "module": "files", "n": None},
    {"event": "quoting", "level": "error", "path": "/a b", "empty": "", "quote": 'say "hi"', "eq": "a=b"},
    {"event": "types", "level": "debug", "list": [1, "a"], "number": 1.5, "flag": True, "logger_name": "uvicorn"},
]


@pytest.mark.parametrize("event", _EVENTS)
def test_console_lines_equal_structlogs_console_renderer(event: dict[str, Any]) -> None:
    full = structlog.dev.ConsoleRenderer(colors=False)
    assert LeanConsoleRenderer(full)(None, "info", dict(event)) == full(None, "info", dict(event))


def test_one_console_renderer_keeps_matching_structlog_across_many_lines() -> None:
    full = structlog.dev.ConsoleRenderer(colors=False)
    lean = LeanConsoleRenderer(full)
    events = [*_EVENTS, {"event": {"not": "text"}, "level": "info"}, {"event": 7, "level": "info", "k": "v"}]
    events += [{"event": f"line {n}", "level": "info", "timestamp": f"t{n % 300}", "n": n} for n in range(600)]
    for event in [*events, *events]:
        assert lean(None, "info", dict(event)) == full(None, "info", dict(event))


def test_exceptions_are_rendered_by_the_full_console_renderer() -> None:
    try:
        raise ValueError("boom")
    except ValueError as error:
        event = {"event": "failed", "level": "error", "exc_info": (ValueError, error, error.__traceback__)}
    full = structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    line = LeanConsoleRenderer(full)(None, "error", dict(event))
    assert line.startswith("[error    ] failed\nTraceback (most recent call last):")
    assert line.endswith("ValueError: boom")


@pytest.mark.parametrize("event", _EVENTS)
def test_json_lines_equal_structlogs_json_renderer(event: dict[str, Any]) -> None:
    rendered = LeanJsonRenderer()(None, "info", dict(event))
    assert json.loads(rendered) == json.loads(structlog.processors.JSONRenderer()(None, "info", dict(event)))


def test_json_falls_back_to_repr_for_unknown_values() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    assert json.loads(LeanJsonRenderer()(None, "info", {"event": "e", "thing": Thing()})) == {
        "event": "e",
        "thing": "<thing>",
    }


@pytest.mark.parametrize(("precision", "length"), [("seconds", 20), ("millis", 24), ("micros", 27)])
def test_timestamps_have_the_configured_precision(precision: str, length: int) -> None:
    stamp = Timestamper(precision)(None, "info", {})["timestamp"]
    assert len(stamp) == length
    assert stamp.endswith("Z")
    assert stamp[10] == "T"


_SCRIPT = """
import logging, structlog
from pyregistry_infrastructure.logging_setup import configure_logging
from pyregistry_infrastructure.settings import LoggingSettings
configure_logging(LoggingSettings(format="json", filter="info,quiet=warning"))
with structlog.contextvars.bound_contextvars(request_id="rid-1"):
    structlog.get_logger("pyregistry_web.requests").info("request finished", status=200)
    structlog.get_logger("quiet").info("dropped")
    structlog.get_logger("quiet").warning("kept")
    logging.getLogger("uvicorn.error").info("stdlib %s", "line")
"""


@pytest.mark.slow
def test_structlog_and_stdlib_lines_share_the_stream_levels_and_context() -> None:
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(event["event"], event["level"], event.get("request_id")) for event in events] == [
        ("request finished", "info", "rid-1"),
        ("kept", "warning", "rid-1"),
        ("stdlib line", "info", "rid-1"),
    ]
    assert [event["module"] for event in events] == ["<string>", "<string>", "<string>"]
    assert events[0]["status"] == 200


_RECONFIGURED = """
import io, sys, structlog
from pyregistry_infrastructure.logging_setup import configure_logging
from pyregistry_infrastructure.settings import LoggingSettings
log = structlog.get_logger("pyregistry_web.requests")
first = io.StringIO()
sys.stderr = first
configure_logging(LoggingSettings(format="console"))
log.info("one")
first.close()
log.info("into a closed stream")
sys.stderr = sys.__stderr__
configure_logging(LoggingSettings(format="json"))
log.info("two")
"""


@pytest.mark.slow
def test_a_reconfiguration_applies_to_existing_loggers_and_a_closed_stream_fails_nobody() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RECONFIGURED], capture_output=True, text=True, timeout=60, check=True
    )
    [line] = result.stderr.splitlines()
    assert json.loads(line)["event"] == "two"


def test_context_merge_equals_structlogs_for_bound_unbound_and_reset_keys() -> None:
    structlog.contextvars.clear_contextvars()
    tokens = structlog.contextvars.bind_contextvars(request_id="rid-2", tenant="acme", gone="x")
    structlog.contextvars.unbind_contextvars("gone")
    try:
        expected = structlog.contextvars.merge_contextvars(None, "info", {"event": "e", "tenant": "explicit"})
        assert merge_contextvars(None, "info", {"event": "e", "tenant": "explicit"}) == expected
        assert expected == {"event": "e", "tenant": "explicit", "request_id": "rid-2"}
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
    assert merge_contextvars(None, "info", {}) == structlog.contextvars.merge_contextvars(None, "info", {}) == {}


def test_the_level_filter_follows_each_loggers_level_and_later_changes() -> None:
    handler = logging.StreamHandler(io.StringIO())
    logger = DirectLoggerFactory(handler)("tests.quiet.child")
    logging.getLogger("tests.quiet").setLevel(logging.WARNING)
    try:
        with pytest.raises(structlog.DropEvent):
            filter_by_level(logger, "info", {})
        assert filter_by_level(logger, "exception", {"event": "kept"}) == {"event": "kept"}
        logging.getLogger("tests.quiet").setLevel(logging.DEBUG)
        assert filter_by_level(logger, "debug", {}) == {}
    finally:
        logging.getLogger("tests.quiet").setLevel(logging.NOTSET)
