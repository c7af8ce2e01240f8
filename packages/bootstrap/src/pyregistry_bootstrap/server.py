"""Running the ASGI app under uvicorn with production-minded defaults."""

from __future__ import annotations

import asyncio
import os
from typing import TypedDict

import click
import uvicorn

from pyregistry_bootstrap.asgi import CONFIG_ENV, served_app
from pyregistry_bootstrap.connection_limits import ConnectionLimits
from pyregistry_bootstrap.http_protocols import protocol_for
from pyregistry_bootstrap.observability_wiring import prepare_worker_metrics
from pyregistry_bootstrap.wiring import Runtime
from pyregistry_infrastructure.config import LoadedSettings
from pyregistry_infrastructure.settings import ServerSettings, Settings

__all__ = ["WORKER_HEALTHCHECK_SECONDS", "connection_limits", "run_server", "storage_description", "worker_count"]

WORKER_HEALTHCHECK_SECONDS = 30
"""How long uvicorn's supervisor waits for a worker's health-check answer before killing it as hung. Its default
(5 s) kills workers that are still starting (importing, wiring the runtime) on a busy host, over and over."""


class _UvicornOptions(TypedDict):
    """The ``uvicorn.run`` keyword arguments shared by the single-process and multi-worker modes."""

    host: str
    port: int
    proxy_headers: bool
    server_header: bool
    log_config: None
    access_log: bool
    http: type[asyncio.Protocol]
    loop: str
    timeout_graceful_shutdown: int
    timeout_keep_alive: int
    h11_max_incomplete_event_size: int


def storage_description(settings: Settings) -> str:
    """Where artifacts live: the filesystem root, or the scheme with its bucket/container and root."""
    opendal = settings.artifact_storage.opendal
    if opendal.scheme == "fs":
        return f"filesystem {settings.blob_root}"
    where = opendal.options.get("bucket") or opendal.options.get("container") or ""
    return f"{opendal.scheme} {where}{opendal.options.get('root', '')}".rstrip()


def _announce(runtime: Runtime, host: str, port: int) -> None:
    settings = runtime.settings
    click.echo(f"pyregistry listening on http://{host}:{port}/")
    click.echo(f"  metadata store: {settings.database_store}; artifacts: {storage_description(settings)}")
    click.echo(f"  worker processes: {worker_count(settings)}")
    click.echo(f"  admin login: http://{host}:{port}/admin/login")
    click.echo(f"  admin email: {settings.superadmin_email}")
    if runtime.superadmin_password_generated and runtime.generated_secrets_created:
        click.echo(
            f"  admin password: {runtime.superadmin_password} (generated, kept in {runtime.generated_secrets_path};"
            " printed only on this first start)"
        )
    elif runtime.superadmin_password_generated:
        click.echo(f"  admin password: generated on first start, kept in {runtime.generated_secrets_path}")
    else:
        click.echo("  admin password: as set in the configuration")


def worker_count(settings: Settings) -> int:
    """``server.workers``, or with 0 one per CPU this process may run on; one with the in-memory store, whose
    data a second process would not see."""
    if settings.server.workers > 0:
        return settings.server.workers
    if settings.database_store == "memory":
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def connection_limits(server: ServerSettings) -> ConnectionLimits:
    """``[server]``'s per-connection limits for the HTTP protocols."""
    return ConnectionLimits(
        max_head_bytes=server.max_request_head_bytes,
        head_timeout_seconds=server.request_head_timeout_seconds,
        max_connections=server.max_connections,
    )


def run_server(loaded: LoadedSettings, runtime: Runtime) -> None:
    """Serve until interrupted. Proxy headers are never trusted by uvicorn itself; error causes reach the status
    line's reason phrase (see :mod:`pyregistry_bootstrap.reason_phrases`); request heads, idle connections and
    open connections are bounded (see :mod:`pyregistry_bootstrap.connection_limits`)."""
    settings = runtime.settings
    host, _, port_text = settings.bind_address.rpartition(":")
    host = host.strip("[]")
    port = int(port_text)
    _announce(runtime, host, port)
    common: _UvicornOptions = {
        "host": host,
        "port": port,
        "proxy_headers": False,
        "server_header": False,
        "log_config": None,
        "access_log": False,
        "http": protocol_for(settings.server.http, connection_limits(settings.server)),
        "loop": settings.server.loop,
        "timeout_graceful_shutdown": 30,
        "timeout_keep_alive": settings.server.keep_alive_timeout_seconds,
        "h11_max_incomplete_event_size": settings.server.max_request_head_bytes,
    }
    workers = worker_count(settings)
    if workers > 1:
        if loaded.path is not None:
            os.environ[CONFIG_ENV] = str(loaded.path.resolve())
        prepare_worker_metrics(settings)
        uvicorn.run(
            "pyregistry_bootstrap.asgi:app_from_environment",
            factory=True,
            workers=workers,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            **common,
        )
        return
    uvicorn.run(served_app(runtime), **common)
