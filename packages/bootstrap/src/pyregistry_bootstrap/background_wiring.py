"""Choosing the background executor (``[background]``) and wiring the work that goes through the job table."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.metrics_ports import Metrics
from pyregistry_application.mirroring import MirrorService
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.durable_jobs import DurableJobExecutor
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.webhooks import (
    PUBLISH_WEBHOOK_JOB,
    VULNERABILITY_WEBHOOK_JOB,
    DiscordWebhook,
    webhook_job_handler,
)

__all__ = ["MIRROR_UPDATE_JOB", "build_job_executor", "job_executor_lifespan", "run_mirror_updates_as_jobs"]

_log = structlog.get_logger(__name__)
_SHARED_DATABASES = frozenset({"postgres", "postgresql", "sqlserver", "mssql"})
WEBHOOK_ATTEMPTS = 8
MIRROR_UPDATE_JOB = "mirror.update"
SHUTDOWN_GRACE_SECONDS = 10.0


def uses_job_table(settings: Settings) -> bool:
    """``[background] executor``: auto picks the job table when the metadata store is PostgreSQL or SQL Server."""
    choice = settings.background.executor
    if choice == "auto":
        return settings.database_store in _SHARED_DATABASES
    return choice == "database"


def build_job_executor(settings: Settings, metadata: MetadataBackend, metrics: Metrics) -> DurableJobExecutor | None:
    """The durable executor on the metadata store (with the webhook job kinds registered), or None for in-process."""
    if not uses_job_table(settings):
        return None
    table = metadata.job_queue
    if table is None:
        raise ConfigError("key 'background.executor': 'database' needs a SQL database_store")
    background = settings.background
    executor = DurableJobExecutor(
        table,
        workers=background.workers,
        poll_seconds=background.poll_seconds,
        lease_seconds=background.lease_seconds,
        backoff_seconds=background.retry_backoff_seconds,
        max_backoff_seconds=background.max_retry_backoff_seconds,
        keep_done_days=background.keep_done_days,
        metrics=metrics,
    )
    hooks = (
        (PUBLISH_WEBHOOK_JOB, settings.security.package_publish_webhook),
        (VULNERABILITY_WEBHOOK_JOB, settings.security.vulnerability_webhook),
    )
    for kind, webhook in hooks:
        if webhook.url:
            sender = DiscordWebhook(webhook.url, webhook.username, webhook.timeout_seconds)
            executor.register(kind, webhook_job_handler(sender), max_attempts=WEBHOOK_ATTEMPTS)
    return executor


def run_mirror_updates_as_jobs(
    settings: Settings, mirror: MirrorService, executor: DurableJobExecutor
) -> threading.Event:
    """Refresh mirrored projects every ``pypi.mirror_update_interval_seconds`` on one node at a time (a lease);
    returns the event that stops a refresh under way at shutdown."""
    stopping = threading.Event()

    def refresh(_payload: Mapping[str, Any]) -> None:
        reports = mirror.refresh_all(should_stop=stopping.is_set)
        _log.info("mirror.update_pass", node=executor.node, tenants=len(reports))

    executor.register(MIRROR_UPDATE_JOB, refresh, max_attempts=1)
    executor.every(MIRROR_UPDATE_JOB, settings.pypi.mirror_update_interval_seconds, exclusive=True)
    return stopping


def job_executor_lifespan(
    executor: DurableJobExecutor, stopping: threading.Event | None = None
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A Litestar lifespan: start the executor's threads with the server, stop them (with a grace period) after."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        executor.start()
        try:
            yield
        finally:
            if stopping is not None:
                stopping.set()
            await asyncio.to_thread(executor.shutdown, SHUTDOWN_GRACE_SECONDS)

    return lifespan
