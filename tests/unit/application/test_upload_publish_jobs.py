"""UploadDistribution commits the publish jobs of an accepted upload with its file (``add_publish_jobs``), on a real
SQLite store; a store without a job table refuses them and the upload leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from pyregistry_application.background_ports import PendingJob
from pyregistry_application.dto import UploadResult
from pyregistry_application.job_monitor_ports import ClaimedJob, JobCounts, JobQueue
from pyregistry_application.security.vulnerability_model import Notification
from pyregistry_domain.errors import AlreadyExists
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase
from pyregistry_infrastructure.webhooks import PUBLISH_WEBHOOK_JOB, PublishWebhookJobs
from tests.support.dists import build_sdist, build_wheel
from tests.unit.application.test_application_without_web import App


def _create_acme(app: App) -> str:
    app.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    return app.tokens.issue(tenant_slug="acme", name="ci", scopes=["read", "publish"], actor="t").secret


@pytest.fixture
def sql_app(tmp_path: Path) -> Iterator[App]:
    application = App(tmp_path, store=sql_backend(SqliteDatabase(str(tmp_path / "registry.sqlite3"))))
    application.uploads.add_publish_jobs(PublishWebhookJobs(max_attempts=8))
    try:
        yield application
    finally:
        application.store.close()


def _queue(app: App) -> JobQueue:
    assert app.store.job_queue is not None
    return app.store.job_queue


def _claim_all(queue: JobQueue) -> list[ClaimedJob]:
    claimed = []
    while (job := queue.claim([PUBLISH_WEBHOOK_JOB], "node-a", 30)) is not None:
        claimed.append(job)
    return claimed


def test_new_projects_and_versions_commit_one_publish_job_each(sql_app: App, tmp_path: Path) -> None:
    secret = _create_acme(sql_app)
    dists = tmp_path / "dists"
    sql_app.upload("acme", secret, build_wheel(dists, "Fresh", "1.0"), "Fresh", "1.0")
    sql_app.upload("acme", secret, build_sdist(dists, "Fresh", "1.0"), "Fresh", "1.0")
    sql_app.upload("acme", secret, build_wheel(dists, "Fresh", "1.1"), "Fresh", "1.1")

    assert _queue(sql_app).counts() == JobCounts(waiting=2)
    jobs = _claim_all(_queue(sql_app))
    notifications = [msgspec.convert(job.payload["notification"], Notification) for job in jobs]
    assert sorted(n.title for n in notifications) == ["New package: Fresh 1.0", "New version: Fresh 1.1"]
    assert {job.max_attempts for job in jobs} == {8}
    keys = [job.payload["idempotency_key"] for job in jobs]
    assert len(set(keys)) == 2 and all(len(key) == 32 for key in keys)


def test_a_refused_upload_enqueues_nothing(sql_app: App, tmp_path: Path) -> None:
    secret = _create_acme(sql_app)
    wheel = build_wheel(tmp_path / "dists", "Fresh", "1.0")
    sql_app.upload("acme", secret, wheel, "Fresh", "1.0")
    _claim_all(_queue(sql_app))

    with pytest.raises(AlreadyExists):
        sql_app.upload("acme", secret, wheel, "Fresh", "1.0")

    assert _queue(sql_app).counts() == JobCounts(running=1)


def test_a_commit_that_fails_keeps_neither_the_job_nor_the_file(sql_app: App, tmp_path: Path) -> None:
    secret = _create_acme(sql_app)
    sql_app.uploads.add_publish_jobs(lambda _result: [PendingJob("broken", {"unwritable": {1, 2}})])

    with pytest.raises(TypeError):
        sql_app.upload("acme", secret, build_wheel(tmp_path / "dists", "Fresh", "1.0"), "Fresh", "1.0")

    assert _queue(sql_app).counts() == JobCounts()
    assert sql_app.store.catalogue.get_project(sql_app.tenants.get("acme").id, "fresh") is None
    assert list(sql_app.storage.list_keys("")) == []


def test_jobs_are_built_from_the_result_the_listeners_see(sql_app: App, tmp_path: Path) -> None:
    secret = _create_acme(sql_app)
    built: list[UploadResult] = []
    heard: list[UploadResult] = []
    sql_app.uploads.add_publish_jobs(lambda result: built.append(result) or [])
    sql_app.uploads.add_listener(heard.append)

    result = sql_app.upload("acme", secret, build_wheel(tmp_path / "dists", "Fresh", "1.0"), "Fresh", "1.0")

    assert built == heard == [result]
    assert result.new_project and result.new_release


def test_a_store_without_a_job_table_refuses_the_upload_and_keeps_no_blob(tmp_path: Path) -> None:
    app = App(tmp_path)
    app.uploads.add_publish_jobs(PublishWebhookJobs(max_attempts=8))
    secret = _create_acme(app)

    with pytest.raises(ValueError, match="no job table"):
        app.upload("acme", secret, build_wheel(tmp_path / "dists", "Fresh", "1.0"), "Fresh", "1.0")

    assert app.store.catalogue.get_project(app.tenants.get("acme").id, "fresh") is None
    assert list(app.storage.list_keys("")) == []
