"""Issue 14 items 1 and 2: request heads are bounded in size and time, silent connections are closed and open
connections are capped, on both uvicorn protocols; request smuggling framings stay refused. Raw sockets against
``pyregistry serve`` on 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dists import build_wheel
from tests.support.raw_upload import form_upload, read_response
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

HEAD_TIMEOUT = 3
IDLE_TIMEOUT = 2
MAX_CONNECTIONS = 40
TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def registry(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    server = start_registry(
        tmp_path_factory.mktemp(f"limits-{request.param}"),
        {
            "PYREGISTRY_HTTP": request.param,
            "PYREGISTRY_REQUEST_HEAD_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
            "PYREGISTRY_KEEP_ALIVE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
            "PYREGISTRY_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        },
    )
    try:
        yield server
    finally:
        server.stop()


def _rss_mib(registry: RunningRegistry) -> float:
    assert registry.process is not None
    for line in Path(f"/proc/{registry.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


def _healthz_seconds(registry: RunningRegistry) -> float:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b'{"status":"ok"}')
    finally:
        conn.close()
    return time.monotonic() - started


def _connect(registry: RunningRegistry) -> socket.socket:
    return socket.create_connection(("127.0.0.1", registry.port), timeout=10)


def _until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection (fails if it is still open after ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        raise AssertionError(f"connection still open after {timeout} s; received {data[:200]!r}") from None
    except ConnectionResetError:
        pass
    return data


def test_an_8_mib_header_gets_431_at_once_and_costs_no_memory(registry: RunningRegistry) -> None:
    _healthz_seconds(registry)
    rss_before = _rss_mib(registry)
    head = b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * (8 << 20) + b"\r\n\r\n"
    with _connect(registry) as sock:
        started = time.monotonic()
        sender = threading.Thread(target=_send_ignoring_reset, args=(sock, head))
        sender.start()
        answer = _until_closed(sock, timeout=10)
        answered = time.monotonic() - started
        sender.join(timeout=10)
    assert answer.startswith(TOO_LARGE), answer[:200]
    assert answer.endswith(b"\r\n\r\nrequest line and headers exceed 65536 bytes\n")
    assert answered < 2.0
    assert _healthz_seconds(registry) < 0.5
    assert _rss_mib(registry) - rss_before < 4


def _send_ignoring_reset(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def test_a_long_request_line_gets_431(registry: RunningRegistry) -> None:
    with _connect(registry) as sock:
        _send_ignoring_reset(sock, b"GET /healthz?" + b"q" * (70 * 1024) + b" HTTP/1.1\r\nHost: test\r\n\r\n")
        status, answer = read_response(sock, timeout=5)
    assert (status, answer.rpartition(b"\r\n\r\n")[2]) == (431, b"request line and headers exceed 65536 bytes\n")


def test_heads_up_to_the_limit_are_served_and_each_request_on_a_connection_counts_afresh(
    registry: RunningRegistry,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=5)
    try:
        conn.request("GET", "/healthz", headers={"X-Fill": "f" * (60 * 1024)})
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b'{"status":"ok"}')
        for _ in range(20):
            conn.request("GET", "/healthz", headers={"X-Fill": "f" * (8 * 1024)})
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b'{"status":"ok"}')
    finally:
        conn.close()


def test_slowloris_connections_are_closed_after_the_head_timeout(registry: RunningRegistry) -> None:
    slow = [_connect(registry) for _ in range(30)]
    try:
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        started = time.monotonic()
        answers: list[float] = []
        while time.monotonic() - started < HEAD_TIMEOUT + 1.5:
            for sock in slow:
                _send_ignoring_reset(sock, b"X-Trickle: 1\r\n")
            answers.append(_healthz_seconds(registry))
            time.sleep(0.5)
        assert max(answers) < 0.5
        expected = f"request line and headers not received within {HEAD_TIMEOUT} seconds\n".encode()
        for sock in slow:
            answer = _until_closed(sock, timeout=2)
            assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:200]
            assert answer.endswith(b"\r\n\r\n" + expected)
    finally:
        for sock in slow:
            sock.close()


def test_a_silent_connection_is_closed_after_the_idle_timeout(registry: RunningRegistry) -> None:
    with _connect(registry) as sock:
        started = time.monotonic()
        assert _until_closed(sock, timeout=IDLE_TIMEOUT + 3) == b""
        assert IDLE_TIMEOUT - 0.5 < time.monotonic() - started < IDLE_TIMEOUT + 1.5


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(registry: RunningRegistry) -> None:
    with _connect(registry) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        status, _ = read_response(sock, timeout=5)
        assert status == 200
        assert _until_closed(sock, timeout=IDLE_TIMEOUT + 3) == b""


def test_connections_past_the_cap_get_503_and_later_ones_are_served(registry: RunningRegistry) -> None:
    time.sleep(0.5)
    held = [_connect(registry) for _ in range(MAX_CONNECTIONS)]
    try:
        with _connect(registry) as extra:
            answer = _until_closed(extra, timeout=5)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), answer[:200]
        expected = f"too many open connections (limit {MAX_CONNECTIONS}); try again later\n"
        assert answer.endswith(b"\r\n\r\n" + expected.encode())
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert _healthz_seconds(registry) < 0.5


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        b"Content-Length: 4\r\nContent-Length: 5\r\n",
    ],
    ids=["content-length-and-chunked", "two-content-lengths"],
)
def test_request_smuggling_framings_are_refused_with_400(registry: RunningRegistry, framing: bytes) -> None:
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
    with _connect(registry) as sock:
        sock.sendall(b"POST /healthz HTTP/1.1\r\nHost: test\r\n" + framing + b"\r\n0\r\n\r\n" + smuggled)
        answer = _until_closed(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n"), answer[:200]
    assert answer.count(b"Invalid HTTP request received.") == 1
    assert answer.count(b"HTTP/1.1 ") == 1


def test_an_oversized_pipelined_head_never_lands_inside_a_streaming_response(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    """httptools reads on while a response streams: the connection is closed, no refusal is written into the body.
    h11 stops reading until the response is complete, then refuses the buffered head with its own 400."""
    registry.create_tenant(f"pipe-{registry.env['PYREGISTRY_HTTP']}")
    tenant = f"pipe-{registry.env['PYREGISTRY_HTTP']}"
    upload, read = registry.issue_token(tenant, "publish"), registry.issue_token(tenant, "read", name="reader")
    wheel = build_wheel(tmp_path, "pipe-pkg", "1.0.0", extra_files={"pipe_pkg/blob.bin": os.urandom(16 << 20)})
    assert form_upload(registry.upload_url(tenant), upload, wheel, "pipe-pkg", "1.0.0").status_code == 200
    credentials = base64.b64encode(f"__token__:{read}".encode())
    first = (
        f"GET /t/{tenant}/files/pipe-pkg/1.0.0/{wheel.name} HTTP/1.1\r\nHost: test\r\n".encode()
        + b"Authorization: Basic "
        + credentials
        + b"\r\n\r\n"
    )
    with _connect(registry) as sock:
        sock.sendall(first)
        time.sleep(1.0)
        _send_ignoring_reset(sock, b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: " + b"a" * (100 * 1024))
        answer = _until_closed(sock, timeout=30)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"HTTP/1.1 431" not in answer
    if registry.env["PYREGISTRY_HTTP"] == "httptools":
        assert len(rest) < wheel.stat().st_size
    else:
        assert rest[: wheel.stat().st_size] == wheel.read_bytes()
        assert rest[wheel.stat().st_size :].startswith(b"HTTP/1.1 400 Bad Request\r\n")
