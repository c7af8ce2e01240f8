"""A tiny ASGI app served by pyregistry's reason-phrase protocols, for tests that read the raw status line.

``python -m tests.support.reason_app h11|httptools PORT`` serves it. ``GET /?reason=...&status=...&body=...``
answers with the (percent-decoded, raw) ``reason`` in the private reason header; without ``reason`` no header.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote_to_bytes

import uvicorn

from pyregistry_bootstrap.connection_limits import ConnectionLimits
from pyregistry_bootstrap.http_protocols import protocol_for
from pyregistry_web.errors import REASON_HEADER


def _query(raw: bytes) -> dict[bytes, bytes]:
    pairs = (part.partition(b"=") for part in raw.split(b"&") if part)
    return {name: unquote_to_bytes(value) for name, _, value in pairs}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    query = _query(scope["query_string"])
    body = query.get(b"body", b"ok")
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    if b"reason" in query:
        headers.append((REASON_HEADER.encode(), query[b"reason"]))
    status = int(query.get(b"status", b"400"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[2]),
        http=protocol_for(sys.argv[1], ConnectionLimits()),
        log_level="warning",
        loop="asyncio",
    )
