"""Building the ASGI application from settings (also the uvicorn factory for multi-worker runs)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from litestar import Litestar
from litestar.types import ASGIApp

from pyregistry_bootstrap.background_wiring import job_executor_lifespan, run_mirror_updates_as_jobs
from pyregistry_bootstrap.mirror_wiring import background_lifespan
from pyregistry_bootstrap.observability_wiring import (
    build_tracer,
    metrics_access,
    metrics_lifespan,
    route_resolver,
    tracing_lifespan,
)
from pyregistry_bootstrap.security_wiring import build_security
from pyregistry_bootstrap.sign_in_wiring import build_sign_in
from pyregistry_bootstrap.wiring import Runtime, build_runtime
from pyregistry_infrastructure.access_line import AccessLine
from pyregistry_infrastructure.config import load_settings
from pyregistry_infrastructure.logging_setup import configure_logging
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters
from pyregistry_web.admin.features import feature_extensions
from pyregistry_web.app import create_app
from pyregistry_web.download_abort import AbortedDownloadFilter
from pyregistry_web.hot_reads import HotReads
from pyregistry_web.network_and_rate_limits import (
    NetworkGuard,
    NetworkGuardOptions,
    NetworkSourceOptions,
    RateLimitOptions,
)
from pyregistry_web.options import WebOptions
from pyregistry_web.request_context import ACCESS_LOGGER, RequestContextMiddleware
from pyregistry_web.request_metrics import RequestMetricsMiddleware
from pyregistry_web.request_tracing import RequestTracingMiddleware
from pyregistry_web.routes.osv import OSV_HANDLERS
from pyregistry_web.routes.security import SECURITY_HANDLERS

__all__ = [
    "CONFIG_ENV",
    "app_from_environment",
    "app_from_runtime",
    "network_guard_options",
    "served_app",
    "web_options",
]

CONFIG_ENV = "PYREGISTRY_CONFIG"
PRESIGNED_SECONDS = 60
"""How long a presigned download URL stays valid (``[artifact_storage] presigned_redirects``)."""


def _scratch_lifespan(runtime: Runtime) -> contextlib.AbstractAsyncContextManager[None]:
    """Remove this process's scratch directory and close the event loop's stamp-read connections on a clean
    shutdown (uvicorn re-raises SIGTERM, skipping atexit)."""

    @contextlib.asynccontextmanager
    async def released() -> AsyncIterator[None]:
        try:
            yield
        finally:
            runtime.scratch.release()
            await runtime.services.metadata.awaited_stamps.aclose()

    return released()


def web_options(settings: Settings, *, spool_dir: Path, cookie_secret: str) -> WebOptions:
    """What the web layer is told: spool directory, UI switches and when the session cookie is ``Secure``."""
    return WebOptions(
        spool_dir=spool_dir,
        show_index_stats=settings.web_ui.show_index_stats,
        cookie_secret=cookie_secret,
        secure_cookies=settings.web_ui.secure_cookies,
        local_passwords=settings.web_ui.local_passwords,
        trust_forwarded_proto=settings.network_source.trust_proxy_headers or settings.rate_limit.trust_proxy_headers,
        accel_redirect_prefix=settings.server.accel_redirect_prefix,
        presigned_redirect_seconds=PRESIGNED_SECONDS if settings.artifact_storage.presigned_redirects else 0,
    )


def app_from_runtime(runtime: Runtime) -> Litestar:
    """The Litestar app for an already-wired runtime."""
    settings = runtime.settings
    options = web_options(settings, spool_dir=runtime.spool_dir, cookie_secret=runtime.cookie_secret)
    runtime.scratch.sweep()
    runtime.services.storage.remove_incomplete()
    executor = runtime.job_executor
    security = build_security(settings, runtime.services, runtime.upstream, executor)
    mirror_stopping = None
    if runtime.services.mirroring is not None and executor is not None and settings.pypi.mirror_update_enabled:
        mirror_stopping = run_mirror_updates_as_jobs(settings, runtime.services.mirroring, executor)
    lifespan = [
        lambda _app: _scratch_lifespan(runtime),
        background_lifespan(
            settings,
            runtime.background,
            runtime.side_work,
            runtime.services.mirroring,
            own_updater=mirror_stopping is None,
        ),
    ]
    if executor is not None:
        lifespan.append(job_executor_lifespan(executor, mirror_stopping))
    if runtime.prometheus is not None:
        lifespan.append(metrics_lifespan(runtime.prometheus))
    if runtime.tracer is not None:
        lifespan.append(tracing_lifespan(runtime.tracer))
    return create_app(
        runtime.services,
        options,
        extra_handlers=[*OSV_HANDLERS, *SECURITY_HANDLERS],
        lifespan=lifespan,
        extra_state={
            "security": security,
            "job_monitor": executor.table if executor is not None else None,
            "oidc_sign_in": build_sign_in(settings, runtime.services),
            "ui_extensions": feature_extensions(
                mirroring=runtime.services.mirroring is not None,
                publishing=runtime.services.publishing is not None,
                security=True,
            ),
        },
        metrics_exposition=runtime.prometheus,
        metrics_access=metrics_access(settings),
    )


def network_guard_options(settings: Settings) -> NetworkGuardOptions:
    """``[rate_limit]`` and ``[network_source]`` as the web layer's guard options."""
    limits = settings.rate_limit
    source = settings.network_source
    return NetworkGuardOptions(
        rate_limit=RateLimitOptions(
            requests_per_minute=limits.requests_per_minute,
            burst=limits.burst,
            trust_proxy_headers=limits.trust_proxy_headers,
            count_successful_requests=limits.count_successful_requests,
        )
        if limits.enabled
        else None,
        network_source=NetworkSourceOptions(
            web_ui_allowed_cidrs=tuple(source.web_ui_allowed_cidrs),
            api_allowed_cidrs=tuple(source.api_allowed_cidrs),
            trust_proxy_headers=source.trust_proxy_headers,
        ),
    )


def served_app(runtime: Runtime) -> ASGIApp:
    """What uvicorn serves: the hot reads (:mod:`pyregistry_web.hot_reads`) in front of the app, source-network
    checks and rate limits in front of them, and outermost the request-id middleware, so every request (even a
    refused or unrouted one) is logged with its id; request metrics (when exported) sit between the two, so refused
    requests are counted too. A download aborted on purpose
    is logged in one line, without the server's traceback."""
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(known, AbortedDownloadFilter) for known in server_log.filters):
        server_log.addFilter(AbortedDownloadFilter())
    app = app_from_runtime(runtime)
    counters = runtime.services.limit_counters
    guarded: ASGIApp = NetworkGuard(
        HotReads(app),
        network_guard_options(runtime.settings),
        counters,
        blocking_counters=not isinstance(counters, MemoryLimitCounters),
        unavailable_log_interval_seconds=runtime.settings.shared_state.unavailable_log_interval_seconds,
        metrics=runtime.services.metrics,
    )
    if runtime.prometheus is not None:
        guarded = RequestMetricsMiddleware(guarded, runtime.prometheus, route_resolver(app))
    if runtime.tracer is not None:
        guarded = RequestTracingMiddleware(guarded, runtime.tracer)
    return RequestContextMiddleware(guarded, AccessLine(ACCESS_LOGGER, "request_context"))


def app_from_environment() -> ASGIApp:
    """uvicorn ``--factory`` entry: read the config named by ``PYREGISTRY_CONFIG`` (or the defaults)."""
    loaded = load_settings(os.environ.get(CONFIG_ENV) or None)
    configure_logging(loaded.settings.logging)
    settings = loaded.settings
    return served_app(
        build_runtime(settings, sync_superadmin=False, export_metrics=True, tracer=build_tracer(settings))
    )
