"""The admin Jobs page on a PostgreSQL node using the durable job table: a publish webhook the receiver keeps
refusing ends failed with its last error shown, and the superadmin's retry runs it again with fresh attempts."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, upload_file
from tests.support.dists import build_wheel
from tests.support.postgres import postgres_schema
from tests.support.server import RunningRegistry, start_registry
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ATTEMPTS = 8  # the webhook job kinds' max_attempts


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


@pytest.fixture
def node(tmp_path: Path, receiver: WebhookReceiver) -> Iterator[RunningRegistry]:
    with postgres_schema() as url:
        env = {
            "DATABASE_STORE": "postgres",
            "DATABASE_URL": url,
            "BLOB_ROOT": str(tmp_path / "blobs"),
            "BACKGROUND_POLL_SECONDS": "0.1",
            "BACKGROUND_RETRY_BACKOFF_SECONDS": "0.05",
            "PACKAGE_PUBLISH_WEBHOOK_URL": receiver.url + "/hook",
        }
        server = start_registry(tmp_path / "node", env)
        try:
            yield server
        finally:
            server.stop()


def _page(session: AdminSession) -> str:
    response = session.get("/admin/jobs")
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def _wait_for_failed(session: AdminSession) -> str:
    deadline = time.monotonic() + 60
    while 'class="count-failed">1<' not in (page := _page(session)):
        assert time.monotonic() < deadline, page
        time.sleep(0.3)
    return page


def test_a_failed_webhook_job_is_shown_with_its_error_and_can_be_retried(
    node: RunningRegistry, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    node.create_tenant("acme")
    token = node.issue_token("acme", "publish")
    upload_file(node, "acme", token, build_wheel(tmp_path / "dist", "fail-hook", "1.0.0"), "fail-hook", "1.0.0")
    session = AdminSession(node)
    assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303

    page = _wait_for_failed(session)
    assert "WebhookNotDelivered: webhook 'New package: fail-hook 1.0.0' got no 2xx answer" in page
    assert f"{ATTEMPTS} / {ATTEMPTS}" in page
    assert receiver.titles("/hook") == ["New package: fail-hook 1.0.0"] * ATTEMPTS
    found = re.search(r'action="/admin/jobs/([0-9a-f]+)/retry"', page)
    assert found is not None

    retried = session.post(f"/admin/jobs/{found.group(1)}/retry")
    assert retried.status_code == 303 and retried.headers["location"] == "/admin/jobs"
    assert f"Job {found.group(1)} will run again." in _page(session)
    deadline = time.monotonic() + 60
    while len(receiver.titles("/hook")) < 2 * ATTEMPTS:
        assert time.monotonic() < deadline, "the retried job did not post again"
        time.sleep(0.3)
    _wait_for_failed(session)
    assert session.post(f"/admin/jobs/{found.group(1)}x/retry").status_code == 404
