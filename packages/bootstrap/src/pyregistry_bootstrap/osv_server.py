"""A short-lived loopback server for the OSV API, so pysentry can read the local advisory database offline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from litestar import Litestar
from litestar.datastructures import State

from pyregistry_application.security.services import SecurityServices
from pyregistry_web.routes.osv import OSV_HANDLERS

__all__ = ["serve_osv"]

_START_TIMEOUT = 20.0


@contextmanager
def serve_osv(security: SecurityServices) -> Iterator[str]:
    """Serve ``/_/osv/v1`` on an ephemeral 127.0.0.1 port; yield the base URL pysentry's ``--service-url`` wants."""
    app = Litestar(route_handlers=OSV_HANDLERS, state=State({"security": security}), openapi_config=None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="osv-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local OSV server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/_/osv/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
