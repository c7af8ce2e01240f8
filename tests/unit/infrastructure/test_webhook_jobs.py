"""Webhooks as jobs of the durable job table: ``QueuedNotifier`` enqueues one job per message with an idempotency
key chosen once, and the job handler posts it with that key and raises (so the job is retried) without a 2xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from pyregistry_application.dto import UploadResult
from pyregistry_application.security.vulnerability_model import Notification
from pyregistry_infrastructure.durable_jobs import ClaimedJob, DurableJobExecutor, SqlJobTable
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase
from pyregistry_infrastructure.webhooks import (
    PUBLISH_WEBHOOK_JOB,
    DiscordWebhook,
    PublishWebhookJobs,
    QueuedNotifier,
    WebhookNotDelivered,
    webhook_job_handler,
)
from tests.support.keyed_webhook_receiver import KeyedWebhookReceiver
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[DurableJobExecutor]:
    """The durable executor on a real SQLite job table, not started: jobs stay in the table to be inspected."""
    database = SqliteDatabase(str(tmp_path / "registry.sqlite3"))
    yield DurableJobExecutor(SqlJobTable(database))
    database.close()


def _claim_all(executor: DurableJobExecutor) -> list[ClaimedJob]:
    claimed = []
    while (job := executor.table.claim([PUBLISH_WEBHOOK_JOB], "test-node", 30)) is not None:
        claimed.append(job)
    return claimed


@pytest.fixture
def keyed() -> Iterator[KeyedWebhookReceiver]:
    receiver = KeyedWebhookReceiver(hold_word="never-held").start()
    yield receiver
    receiver.stop()


NOTE = Notification(title="New package: rocket 1.0", body="rocket-1.0.whl", fields={"project": "rocket"})


def test_each_message_becomes_one_job_with_its_own_idempotency_key(executor: DurableJobExecutor) -> None:
    notifier = QueuedNotifier(executor, PUBLISH_WEBHOOK_JOB)
    assert notifier.send(NOTE) and notifier.send(NOTE)
    first, second = _claim_all(executor)
    assert first.payload["notification"] == {"title": NOTE.title, "body": NOTE.body, "fields": NOTE.fields}
    assert len(first.payload["idempotency_key"]) == 32
    assert first.payload["idempotency_key"] != second.payload["idempotency_key"]


def test_every_attempt_of_a_job_posts_the_same_idempotency_key(
    executor: DurableJobExecutor, keyed: KeyedWebhookReceiver
) -> None:
    QueuedNotifier(executor, PUBLISH_WEBHOOK_JOB).send(NOTE)
    handle = webhook_job_handler(DiscordWebhook(keyed.url, timeout_seconds=5))
    payload = _claim_all(executor)[0].payload
    handle(payload)
    handle(payload)  # a retry after the node died before recording the answer
    assert keyed.keys_by_title() == {NOTE.title: {payload["idempotency_key"]}}
    assert len(keyed.snapshot()) == 2


def test_an_upload_publish_job_is_posted_by_the_same_handler_with_its_key(keyed: KeyedWebhookReceiver) -> None:
    upload = UploadResult(
        tenant_slug="acme",
        project="Rocket",
        version="1.0",
        filename="rocket-1.0-py3-none-any.whl",
        sha256="ab" * 32,
        size=10,
        new_project=True,
        new_release=True,
    )
    again = msgspec.structs.replace(upload, new_project=False, new_release=False)
    jobs = PublishWebhookJobs(max_attempts=8)
    assert jobs(again) == []
    [job] = jobs(upload)
    assert (job.kind, job.max_attempts, job.dedupe_key) == (PUBLISH_WEBHOOK_JOB, 8, None)
    webhook_job_handler(DiscordWebhook(keyed.url, timeout_seconds=5))(job.payload)
    assert keyed.keys_by_title() == {"New package: Rocket 1.0": {job.payload["idempotency_key"]}}


def test_an_answer_other_than_2xx_raises_so_the_job_is_retried() -> None:
    failing = WebhookReceiver().start()
    try:
        handle = webhook_job_handler(DiscordWebhook(failing.url + "/hook", timeout_seconds=5))
        payload = {"idempotency_key": "k1", "notification": {"title": "fail-hook", "body": "b", "fields": {}}}
        with pytest.raises(WebhookNotDelivered, match="'fail-hook' got no 2xx answer"):
            handle(payload)
    finally:
        failing.stop()
