"""The composition root's background work: one executor started and stopped with the server, one upstream client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pyregistry_application.background_ports import PendingJob
from pyregistry_bootstrap.mirror_wiring import background_lifespan
from pyregistry_bootstrap.security_wiring import build_security
from pyregistry_bootstrap.wiring import build_runtime
from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_infrastructure.background.in_process import InProcessExecutor
from pyregistry_infrastructure.background.side_threads import SideThreads
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
