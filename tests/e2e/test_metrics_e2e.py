"""/metrics on a real server: exact counter deltas after real twine and pip traffic, refusals, protection."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.metrics_scrape import scrape
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e

FILES_ROUTE = "/t/{tenant}/files/{project}/{version}/{filename}"
PROJECT_ROUTE = "/t/{tenant}/simple/{project}"


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=180, env=clean_client_env())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    registry = start_registry(tmp_path_factory.mktemp("metrics"))
    try:
        registry.create_tenant("acme")
        yield registry
    finally:
        registry.stop()


def test_twine_upload_and_pip_install_are_counted_exactly(server: RunningRegistry, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist", "metered-lib", "1.0.0")
    publish = server.issue_token("acme", "publish", name="ci")
    read = server.issue_token("acme", "read", name="installer")
    before = scrape(server.base_url)

    upload = run(
        [str(BIN_DIR / "twine"), "upload", "--non-interactive", "--disable-progress-bar", "--repository-url",
         server.upload_url("acme"), "-u", "__token__", "-p", publish, str(wheel)]
    )  # fmt: skip
    assert upload.returncode == 0, upload.stdout + upload.stderr
    install = run(
        [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-deps", "--target", str(tmp_path / "site"),
         "--index-url", server.index_url("acme", read), "metered-lib==1.0.0"]
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    after = scrape(server.base_url)

    assert after.delta(before, "pyregistry_uploads_total") == 1
    assert after.delta(before, "pyregistry_uploaded_bytes_total") == wheel.stat().st_size
    assert after.changed(before, "pyregistry_downloads_total") == {
        ("pyregistry_downloads_total", frozenset({("source", "local")})): 1.0
    }
    requests = {
        (dict(labels)["method"], dict(labels)["route"], dict(labels)["status"]): value
        for (_, labels), value in after.changed(before, "pyregistry_http_requests_total").items()
    }
    assert requests == {
        ("POST", "/t/{tenant}/legacy", "200"): 1.0,
        ("GET", PROJECT_ROUTE, "200"): 1.0,
        ("GET", FILES_ROUTE, "200"): 2.0,  # the PEP 658 .metadata file, then the wheel
        ("GET", "/metrics", "200"): 1.0,  # the first scrape (a scrape is counted once it is answered)
    }
    latency = "pyregistry_http_request_duration_seconds_count"
    assert after.delta(before, latency, method="POST", route="/t/{tenant}/legacy") == 1
    lookups = "pyregistry_page_cache_lookups_total"
    # pip read the project page once: a miss, or a hit when the rebuild after the upload (not counted) came first
    assert after.delta(before, lookups, result="miss") + after.delta(before, lookups, result="hit") == 1


def test_refused_requests_are_counted_under_their_status(server: RunningRegistry) -> None:
    before = scrape(server.base_url)
    bad = httpx.get(f"{server.base_url}/t/acme/simple/metered-lib/", auth=("__token__", "pyr_wrong"), timeout=10)
    unknown = httpx.get(f"{server.base_url}/no/such/page/42", timeout=10)
    after = scrape(server.base_url)

    assert bad.status_code == 401
    assert unknown.status_code == 404
    assert after.delta(before, "pyregistry_http_requests_total", method="GET", route=PROJECT_ROUTE, status="401") == 1
    assert after.delta(before, "pyregistry_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert not [key for key in after.values if "/no/such" in str(key)]


def test_rate_limited_requests_are_counted_with_their_route(tmp_path: Path) -> None:
    registry = start_registry(
        tmp_path, {"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_BURST": "1", "RATE_LIMIT_REQUESTS_PER_MINUTE": "60"}
    )
    try:
        registry.create_tenant("acme")
        before = scrape(registry.base_url)
        statuses = [
            httpx.get(f"{registry.base_url}/t/acme/simple/", auth=("__token__", "pyr_bad"), timeout=10).status_code
            for _ in range(2)
        ]
        time.sleep(1.2)  # one token back (60 a minute): /metrics is rate-limited like the rest of the API
        after = scrape(registry.base_url)
    finally:
        registry.stop()

    assert statuses == [401, 429]
    assert after.delta(before, "pyregistry_requests_refused_total", reason="rate_limited") == 1
    counted = after.changed(before, "pyregistry_http_requests_total")
    assert {dict(labels)["status"]: value for (_, labels), value in counted.items() if "simple" in str(labels)} == {
        "401": 1.0,
        "429": 1.0,
    }
    assert all(dict(labels)["route"] in {"/t/{tenant}/simple", "/metrics"} for (_, labels) in counted)


def test_metrics_token_is_required_when_configured(tmp_path: Path) -> None:
    token = "metrics-token-0123456789"
    registry = start_registry(tmp_path, {"METRICS_TOKEN": token})
    try:
        missing = httpx.get(f"{registry.base_url}/metrics", timeout=10)
        wrong = httpx.get(f"{registry.base_url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
        basic = httpx.get(f"{registry.base_url}/metrics", auth=("__token__", token), timeout=10)
        samples = scrape(registry.base_url, token)
    finally:
        registry.stop()

    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.text == "401 metrics need the bearer token configured as metrics.token\n"
        assert refused.headers["www-authenticate"] == 'Bearer realm="pyregistry metrics"'
    assert samples.get("pyregistry_http_requests_total", method="GET", route="/metrics", status="401") == 3


def test_metrics_follow_the_api_network_rules(tmp_path: Path) -> None:
    registry = start_registry(tmp_path, {"NETWORK_SOURCE_API_ALLOWED_CIDRS": "10.0.0.0/8"})
    try:
        refused = httpx.get(f"{registry.base_url}/metrics", timeout=10)
        ready = httpx.get(f"{registry.base_url}/readyz", timeout=10)
    finally:
        registry.stop()

    assert refused.status_code == 403
    assert refused.text == "403 the package API does not accept requests from 127.0.0.1\n"
    assert ready.status_code == 200


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    registry = start_registry(tmp_path, {"METRICS_ENABLED": "false"})
    try:
        response = httpx.get(f"{registry.base_url}/metrics", timeout=10)
    finally:
        registry.stop()

    assert (response.status_code, response.text) == (404, "404 Not Found\n")
