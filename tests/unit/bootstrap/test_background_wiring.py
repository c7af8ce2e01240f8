"""The composition root's background work: one executor started and stopped with the server, one upstream client."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pyregistry_application.background_ports import PendingJob
from pyregistry_application.dto import UploadCommand
from pyregistry_application.job_monitor_ports import JobCounts
from pyregistry_application.spooled_files import spooled_file
from pyregistry_bootstrap.background_wiring import WEBHOOK_ATTEMPTS
from pyregistry_bootstrap.mirror_wiring import background_lifespan
from pyregistry_bootstrap.security_wiring import build_security
from pyregistry_bootstrap.wiring import build_runtime
from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_infrastructure.background.in_process import InProcessExecutor
from pyregistry_infrastructure.background.side_threads import SideThreads
from pyregistry_infrastructure.settings import BackgroundSettings, SecuritySettings, WebhookSettings
from pyregistry_infrastructure.webhooks import PUBLISH_WEBHOOK_JOB
from tests.support.dists import build_wheel
from tests.support.settings import runtime_settings


def test_the_server_lifespan_runs_the_executor_and_shuts_it_down(tmp_path: Path) -> None:
    settings = runtime_settings(tmp_path, database_store="memory")
    executor = InProcessExecutor(1)
    ran: list[Mapping[str, Any]] = []
    done = threading.Event()

    def job(payload: Mapping[str, Any]) -> None:
        ran.append(payload)
        done.set()

    executor.register("probe", job)
    executor.submit(PendingJob(kind="probe", payload={"n": 1}))
    side_work = SideThreads()

    async def serve() -> None:
        async with background_lifespan(settings, executor, side_work, None)(None):  # type: ignore[arg-type]
            assert await asyncio.to_thread(done.wait, 10), "the executor runs once the server starts"

    asyncio.run(serve())
    assert ran == [{"n": 1}]
    with pytest.raises(RuntimeError, match="shut down"):
        side_work.start(lambda: None)
    executor.submit(PendingJob(kind="probe", payload={"n": 2}))
    assert not executor.wait_idle(0.3), "after shutdown no worker takes the job"
    assert ran == [{"n": 1}]


def test_the_mirror_and_the_wheel_audit_share_one_upstream_client(tmp_path: Path) -> None:
    settings = runtime_settings(tmp_path, database_store="memory")
    runtime = build_runtime(settings)
    security = build_security(settings, runtime.services, runtime.upstream)
    mirroring = runtime.services.mirroring
    assert mirroring is not None and runtime.upstream is not None
    mirroring.close(timeout=1)  # closes the mirror's client: the audit's fetcher is refused by that same client
    with pytest.raises(UpstreamUnavailable, match="the mirror is shutting down"):
        security.wheel_scan.scan_upstream("tool", "tool-1.0-py3-none-any.whl")


def test_with_the_job_table_an_upload_commits_exactly_one_publish_job(tmp_path: Path) -> None:
    settings = runtime_settings(
        tmp_path,
        background=BackgroundSettings(executor="database"),
        security=SecuritySettings(package_publish_webhook=WebhookSettings(url="http://127.0.0.1:9/never-posted")),
    )
    runtime = build_runtime(settings)
    executor = runtime.job_executor
    assert executor is not None, "the database executor is not started: its jobs stay in the table"
    services = runtime.services
    services.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    secret = services.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="t").secret
    wheel = build_wheel(tmp_path / "dists", "Fresh", "1.0")
    spool = tmp_path / "fresh.part"
    shutil.copy(wheel, spool)
    content = spooled_file(spool, wheel.name)
    fields = {":action": ["file_upload"], "name": ["Fresh"], "version": ["1.0"], "sha256_digest": [content.sha256]}
    services.uploads.execute(UploadCommand(tenant_slug="acme", token_secret=secret, fields=fields, content=content))

    assert executor.table.counts() == JobCounts(waiting=1)
    [job] = executor.table.recent(None, 10)
    assert (job.kind, job.max_attempts) == (PUBLISH_WEBHOOK_JOB, WEBHOOK_ATTEMPTS)
