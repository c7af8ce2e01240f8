"""Hand-made twine-style uploads over a raw socket, so a test controls pacing, framing and the announced length."""

from __future__ import annotations

import base64
import hashlib
import select
import socket
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["BOUNDARY", "RawUpload", "form_upload", "multipart_envelope", "read_response"]

BOUNDARY = "pyregistry-test-boundary-7f3a9c"


def multipart_envelope(name: str, version: str, filename: str, content: bytes) -> tuple[bytes, bytes]:
    """The form bytes before and after the file content of a legacy upload."""
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if filename.endswith(".whl") else "sdist",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def form_upload(
    upload_url: str, token: str, path: Path, name: str, version: str, filename: str | None = None
) -> httpx.Response:
    """A minimal twine-like upload of ``path`` with httpx (the digest always matches the content)."""
    content = path.read_bytes()
    return httpx.post(
        upload_url,
        auth=("__token__", token),
        data={
            ":action": "file_upload",
            "name": name,
            "version": version,
            "sha256_digest": hashlib.sha256(content).hexdigest(),
        },
        files={"content": (filename or path.name, content, "application/octet-stream")},
        timeout=60,
    )


def read_response(sock: socket.socket, timeout: float) -> tuple[int, bytes]:
    """Status code and raw bytes of the response (read until the peer closes or ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and _complete(data):
                break
    except (TimeoutError, ConnectionResetError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        raise AssertionError(f"no HTTP response, got {data[:200]!r}")
    return int(data.split(b" ", 2)[1]), data


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


@dataclass
class RawUpload:
    """One POST to ``/t/<tenant>/legacy/`` whose body the test writes piece by piece."""

    port: int
    tenant: str
    token: str
    content_length: int | None = None

    def __post_init__(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sent = 0
        credentials = base64.b64encode(f"__token__:{self.token}".encode()).decode()
        framing = "Transfer-Encoding: chunked"
        if self.content_length is not None:
            framing = f"Content-Length: {self.content_length}"
        self.sock.sendall(
            (
                f"POST /t/{self.tenant}/legacy/ HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Authorization: Basic {credentials}\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n\r\n"
            ).encode()
        )

    def send(self, data: bytes) -> None:
        """Write body bytes (as one chunk when the body is chunked)."""
        if self.content_length is None:
            self.sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.sock.sendall(data)
        self.sent += len(data)

    def end(self) -> None:
        """Finish a chunked body."""
        if self.content_length is None:
            self.sock.sendall(b"0\r\n\r\n")

    def answered(self) -> bool:
        """True when the server has started answering (before the body was finished)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def response(self, timeout: float = 30) -> tuple[int, bytes]:
        return read_response(self.sock, timeout)

    def close(self) -> None:
        self.sock.close()
