"""The status line's reason phrase carries an error's cause, on both uvicorn protocols, and nothing else gets in:
raw HTTP/1.1 over a socket against a small app served by pyregistry's protocols in a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import quote_from_bytes

import pytest

from pyregistry_web.errors import MAX_REASON_CHARS, REASON_HEADER, reason_phrase
from tests.support.server import free_port

pytestmark = pytest.mark.e2e

Answer = tuple[bytes, list[bytes], bytes]


@pytest.fixture(scope="module", params=["httptools", "h11"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    number = free_port()
    process = subprocess.Popen([sys.executable, "-m", "tests.support.reason_app", request.param, str(number)])
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", number), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield number
    finally:
        process.terminate()
        process.wait(timeout=10)


def _target(query: dict[str, bytes]) -> bytes:
    return ("/?" + "&".join(f"{name}={quote_from_bytes(value, safe='')}" for name, value in query.items())).encode()


def _exchange(port: int, *queries: dict[str, bytes]) -> list[Answer]:
    """Send the requests on one keep-alive connection; return status line, header lines and body of each answer."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        for query in queries:
            conn.sendall(b"GET " + _target(query) + b" HTTP/1.1\r\nHost: test\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            status, *headers = head.split(b"\r\n")
            length = next(int(line.split(b":")[1]) for line in headers if line.lower().startswith(b"content-length"))
            while len(body) < length:
                body += conn.recv(65536)
            answers.append((status, headers, body))
    return answers


def test_the_cause_becomes_the_reason_phrase_and_the_header_is_dropped(port: int) -> None:
    [(status, headers, body)] = _exchange(port, {"reason": b"File already exists: 'demo-1.0.whl'", "body": b"x"})
    assert status == b"HTTP/1.1 400 File already exists: 'demo-1.0.whl'"
    assert not any(line.lower().startswith(REASON_HEADER.encode()) for line in headers)
    assert body == b"x"


@pytest.mark.parametrize(
    "reason",
    [
        b"evil\r\nSet-Cookie: stolen=1",
        b"bell\x07",
        "caf\u00e9".encode(),
        b"",
        b"x" * (MAX_REASON_CHARS + 1),
    ],
    ids=["crlf", "control", "non-ascii", "empty", "too-long"],
)
def test_unusable_reasons_fall_back_to_the_standard_phrase(port: int, reason: bytes) -> None:
    [(status, headers, _)] = _exchange(port, {"reason": reason, "status": b"409"})
    assert status == b"HTTP/1.1 409 Conflict"
    assert not any(b"stolen" in line or line.lower().startswith(REASON_HEADER.encode()) for line in headers)


def test_only_the_head_of_a_reasoned_response_changes(port: int) -> None:
    lookalike = b"HTTP/1.1 400 Bad Request\r\nnot a status line"
    answers = _exchange(
        port,
        {"reason": b"first cause", "body": lookalike},
        {"status": b"400", "body": lookalike},
        {"status": b"200"},
        {"reason": b"third cause", "status": b"404"},
    )
    assert [status for status, _, _ in answers] == [
        b"HTTP/1.1 400 first cause",
        b"HTTP/1.1 400 Bad Request",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 404 third cause",
    ]
    assert answers[0][2] == lookalike and answers[1][2] == lookalike


def test_the_web_layer_only_hands_over_printable_capped_reasons() -> None:
    assert reason_phrase("  caf\u00e9\r\nSet-Cookie: x  ") == "caf???Set-Cookie: x"
    assert reason_phrase("x" * 1000) == "x" * MAX_REASON_CHARS
    assert reason_phrase(" \n ") == "Error"
