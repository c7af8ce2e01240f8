"""Log output never carries frame locals or client request URLs, whatever the format and level."""

from __future__ import annotations

import subprocess
import sys

import pytest

_SCRIPT = """
import logging, sys, structlog
from pyregistry_infrastructure.logging_setup import configure_logging
from pyregistry_infrastructure.settings import LoggingSettings
configure_logging(LoggingSettings(format=sys.argv[1], filter="debug"))

def handler(authorization):
    secret = "pyr_LOCALSECRET_" + "x" * 43
    raise RuntimeError("boom")

try:
    handler("Basic SEADERSECRET")
except RuntimeError:
    structlog.get_logger("t").exception("request.unhandled_error")
logging.getLogger("httpx").info("HTTP Request: POST http://h/api/webhooks/1/URLSECRET")
logging.getLogger("pyregistry_web").debug("still debug")
"""


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["console", "json"])
def test_tracebacks_have_no_locals_and_client_urls_are_not_logged(log_format: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, log_format], capture_output=True, text=True, timeout=60, check=True
    )
    assert "RuntimeError" in result.stderr
    assert "still debug" in result.stderr
    for secret in ("LOCALSECRET", "SEADERSECRET", "URLSECRET"):
        assert secret not in result.stderr
