"""A real nginx (Debian's ``nginx-light``) on 127.0.0.1 in front of a test server, config written per test."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.server import free_port

__all__ = ["nginx_available", "nginx_serving", "running_nginx"]

_PREAMBLE = """daemon off;
master_process off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http_body}    server {{
        listen 127.0.0.1:{port};
"""

_ACCEL_SERVER = """        client_max_body_size 0;
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $http_host;
        }}
        location {internal} {{
            internal;
            alias {blobs}/;
            etag off;
            add_header ETag $upstream_http_etag;
        }}
"""


def nginx_available() -> bool:
    return shutil.which("nginx") is not None


@contextmanager
def nginx_serving(workdir: Path, server_body: str, http_body: str = "") -> Iterator[str]:
    """nginx in the foreground on a free loopback port with ``server_body`` inside its one ``server`` block (and
    ``http_body``, e.g. an ``upstream``, before it); yields its base URL once it answers ``/healthz`` (any status)
    and stops it on exit."""
    prefix = workdir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(_PREAMBLE.format(prefix=prefix, port=port, http_body=http_body) + server_body + "    }\n}\n")
    log = (prefix / "stderr.log").open("ab")
    process = subprocess.Popen(["nginx", "-e", "stderr", "-p", str(prefix), "-c", str(conf)], stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {(prefix / 'stderr.log').read_text()}") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@contextmanager
def running_nginx(workdir: Path, upstream_port: int, internal: str, blobs: Path) -> Iterator[str]:
    """nginx proxying to ``upstream_port`` and sending ``X-Accel-Redirect`` targets under ``internal`` from
    ``blobs``; yields its base URL."""
    body = _ACCEL_SERVER.format(upstream=upstream_port, internal=internal, blobs=blobs.resolve())
    with nginx_serving(workdir, body) as base:
        yield base
