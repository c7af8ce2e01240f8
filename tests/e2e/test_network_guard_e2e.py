"""Rate limits and source-network checks on a real server on 127.0.0.1, driven by httpx and pip."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, free_port, start_registry

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("guard")


def _server(tmp_root: Path, name: str, env: dict[str, str]) -> Iterator[RunningRegistry]:
    server = start_registry(tmp_root / name, env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def strict(tmp_root: Path) -> Iterator[RunningRegistry]:
    """Five requests of burst, then one every ten seconds; proxy headers not trusted."""
    env = {"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS_PER_MINUTE": "6", "RATE_LIMIT_BURST": "5"}
    yield from _server(tmp_root, "strict", env)


@pytest.fixture(scope="module")
def behind_proxy(tmp_root: Path) -> Iterator[RunningRegistry]:
    env = {
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_REQUESTS_PER_MINUTE": "6",
        "RATE_LIMIT_BURST": "3",
        "RATE_LIMIT_TRUST_PROXY_HEADERS": "true",
    }
    yield from _server(tmp_root, "proxy", env)


@pytest.fixture(scope="module")
def api_fenced(tmp_root: Path) -> Iterator[RunningRegistry]:
    """API only from private ranges, web UI only from loopback; served over plain http behind a TLS proxy that is
    not trusted with headers, so ``web_ui.secure_cookies`` is set (one server for both, to keep the suite fast)."""
    env = {
        "NETWORK_SOURCE_API_ALLOWED_CIDRS": "10.0.0.0/8,fd00::/8",
        "NETWORK_SOURCE_WEB_UI_ALLOWED_CIDRS": "127.0.0.0/8",
        "WEB_UI_SECURE_COOKIES": "true",
    }
    yield from _server(tmp_root, "fenced", env)


def exhaust(url: str, headers: dict[str, str] | None = None, limit: int = 20) -> httpx.Response:
    """Request ``url`` until the server answers 429; return that answer."""
    for _ in range(limit):
        response = httpx.get(url, headers=headers, timeout=10)
        if response.status_code == 429:
            return response
    raise AssertionError(f"no 429 after {limit} requests to {url}")


def test_burst_then_429_with_retry_after(strict: RunningRegistry) -> None:
    url = f"{strict.base_url}/t/acme/simple/"
    statuses = [httpx.get(url, timeout=10).status_code for _ in range(5)]
    assert 429 not in statuses
    refused = httpx.get(url, timeout=10)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 10
    assert refused.text.startswith("429 too many requests from 127.0.0.1: the limit is 6 per minute with bursts of 5")
    oidc = httpx.post(f"{strict.base_url}/_/oidc/mint-token", json={"token": "x"}, timeout=10)
    assert oidc.status_code == 429
    assert oidc.json()["status"] == 429 and "retry after" in oidc.json()["message"]


def test_spoofed_forwarded_for_does_not_change_the_client_when_untrusted(strict: RunningRegistry) -> None:
    url = f"{strict.base_url}/t/acme/simple/"
    exhaust(url)
    for number in range(1, 6):
        spoofed = {"X-Forwarded-For": f"198.51.100.{number}", "X-Real-IP": f"198.51.100.{number}"}
        response = httpx.get(url, headers={**spoofed, "Forwarded": f"for=198.51.100.{number}"}, timeout=10)
        assert response.status_code == 429
        assert "from 127.0.0.1" in response.text


def test_health_and_web_ui_are_not_limited_and_refusals_are_logged_with_request_id(strict: RunningRegistry) -> None:
    refused = exhaust(f"{strict.base_url}/t/acme/simple/")
    request_id = refused.headers["x-request-id"]
    for _ in range(10):
        assert httpx.get(f"{strict.base_url}/healthz", timeout=10).status_code == 200
    assert httpx.get(f"{strict.base_url}/admin/login", timeout=10).status_code == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in strict.log_path.read_text().splitlines() if "request.refused" in line]
        if any(request_id in line and "rate_limited" in line for line in lines):
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"no refusal logged with request id {request_id}")


def test_trusted_proxy_headers_separate_clients(behind_proxy: RunningRegistry) -> None:
    url = f"{behind_proxy.base_url}/t/acme/simple/"
    first = exhaust(url, {"X-Forwarded-For": "198.51.100.7, 10.0.0.1"})
    assert "from 198.51.100.7" in first.text
    second = {"Forwarded": 'for="[2001:db8::9]:4711";proto=https'}
    assert [httpx.get(url, headers=second, timeout=10).status_code != 429 for _ in range(3)] == [True] * 3
    assert "from 2001:db8::9" in httpx.get(url, headers=second, timeout=10).text
    assert httpx.get(url, headers={"X-Real-IP": "198.51.100.8"}, timeout=10).status_code != 429
    assert httpx.get(url, headers={"X-Forwarded-For": "198.51.100.7"}, timeout=10).status_code == 429


def test_invalid_trusted_headers_fall_back_to_the_peer(behind_proxy: RunningRegistry) -> None:
    url = f"{behind_proxy.base_url}/t/acme/simple/"
    refused = exhaust(url, {"X-Forwarded-For": "not-an-address"})
    assert "from 127.0.0.1" in refused.text
    assert httpx.get(url, headers={"Forwarded": "for=_hidden"}, timeout=10).status_code == 429


def _session_cookie(registry: RunningRegistry, headers: dict[str, str] | None = None) -> str:
    response = httpx.get(f"{registry.base_url}/admin/login", headers=headers, timeout=10)
    assert response.status_code == 200
    return response.headers["set-cookie"]


HTTPS_PROXY_HEADERS = ({"X-Forwarded-Proto": "https"}, {"Forwarded": "for=198.51.100.7;proto=https"})


def test_session_cookie_is_secure_over_http_when_configured(api_fenced: RunningRegistry) -> None:
    assert "Secure" in _session_cookie(api_fenced)
    assert "Secure" in _session_cookie(api_fenced, {"X-Forwarded-Proto": "http"})


def test_session_cookie_is_secure_when_the_trusted_proxy_says_https(behind_proxy: RunningRegistry) -> None:
    for headers in HTTPS_PROXY_HEADERS:
        assert "Secure" in _session_cookie(behind_proxy, headers), headers
    assert "Secure" not in _session_cookie(behind_proxy)
    assert "Secure" not in _session_cookie(behind_proxy, {"X-Forwarded-Proto": "http"})


def test_untrusted_proxy_headers_never_make_the_cookie_secure(strict: RunningRegistry) -> None:
    for headers in HTTPS_PROXY_HEADERS:
        assert "Secure" not in _session_cookie(strict, headers), headers
    assert "Secure" not in _session_cookie(strict)


def test_api_refused_outside_allowed_cidrs_while_web_ui_allowed(api_fenced: RunningRegistry) -> None:
    base = api_fenced.base_url
    simple = httpx.get(f"{base}/t/acme/simple/", timeout=10)
    assert simple.status_code == 403
    assert simple.text == "403 the package API does not accept requests from 127.0.0.1\n"
    oidc = httpx.get(f"{base}/_/oidc/audience", timeout=10)
    assert oidc.status_code == 403
    assert oidc.json() == {"message": "the package API does not accept requests from 127.0.0.1", "status": 403}
    spoofed = httpx.get(f"{base}/t/acme/simple/", headers={"X-Forwarded-For": "10.1.1.1"}, timeout=10)
    assert spoofed.status_code == 403
    assert httpx.get(f"{base}/admin/login", timeout=10).status_code == 200
    assert httpx.get(f"{base}/", timeout=10).status_code == 200
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200


class Ipv6Registry(RunningRegistry):
    """A server bound to the IPv6 loopback, so its peers are ``::1``."""

    @property
    def base_url(self) -> str:
        return f"http://[::1]:{self.port}"


@pytest.fixture(scope="module")
def on_ipv6_loopback(tmp_root: Path) -> Iterator[RunningRegistry]:
    port = free_port()
    env = {
        **{key: value for key, value in os.environ.items() if key != "PYREGISTRY_CONFIG"},
        "SUPERADMIN_PASSWORD": "admin-password-for-tests",
        "COOKIE_SECRET": "cookie-secret-for-tests-cookie-secret-for-tests",
        "PYPI_MIRROR_UPDATE_ENABLED": "false",
        "BIND_ADDRESS": f"[::1]:{port}",
        "NETWORK_SOURCE_API_ALLOWED_CIDRS": "::1/128",
        "NETWORK_SOURCE_WEB_UI_ALLOWED_CIDRS": "127.0.0.0/8,::ffff:127.0.0.0/104",
    }
    workdir = tmp_root / "v6"
    workdir.mkdir()
    server = Ipv6Registry(workdir=workdir, port=port, env=env).start()
    try:
        yield server
    finally:
        server.stop()


def test_ipv6_peer_matches_ipv6_ranges_only(on_ipv6_loopback: RunningRegistry) -> None:
    base = on_ipv6_loopback.base_url
    assert httpx.get(f"{base}/t/acme/simple/", timeout=10).status_code in {401, 404}
    refused = httpx.get(f"{base}/admin/login", timeout=10)
    assert refused.status_code == 403
    assert refused.text == "403 the web UI does not accept requests from ::1\n"


def _twine_upload(registry: RunningRegistry, tenant: str, token: str, *files: Path) -> None:
    upload = subprocess.run(
        [
            *(str(BIN_DIR / "twine"), "upload", "--non-interactive", "--disable-progress-bar"),
            *("--repository-url", registry.upload_url(tenant), "-u", "__token__", "-p", token, *map(str, files)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_client_env(),
    )
    assert upload.returncode == 0, upload.stdout + upload.stderr


def _pip_install(registry: RunningRegistry, tenant: str, token: str, target: Path, *names: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", str(target)]
    command += ["--index-url", registry.index_url(tenant, token), *names]
    install = subprocess.run(command, capture_output=True, text=True, timeout=180, env=clean_client_env())
    assert install.returncode == 0, install.stdout + install.stderr


@pytest.fixture(scope="module")
def default_limits(tmp_root: Path) -> Iterator[RunningRegistry]:
    """The shipped defaults: 120 requests per minute, bursts of 60."""
    yield from _server(tmp_root, "defaults", {"RATE_LIMIT_ENABLED": "true"})


def test_pip_install_works_under_the_default_limit(default_limits: RunningRegistry, tmp_path: Path) -> None:
    registry = default_limits
    registry.create_tenant("acme")
    token = registry.issue_token("acme", "read", "publish", name="ci")
    wheel = build_wheel(tmp_path / "dist", "guarded-lib", "1.0.0")
    _twine_upload(registry, "acme", token, wheel)
    target = tmp_path / "site"
    _pip_install(registry, "acme", token, target, "guarded-lib")
    assert (target / "guarded_lib" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"


@pytest.fixture(scope="module")
def quota(tmp_root: Path) -> Iterator[RunningRegistry]:
    """Strict limits with the default accounting: only failing requests keep their token."""
    env = {"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_REQUESTS_PER_MINUTE": "6", "RATE_LIMIT_BURST": "5"}
    yield from _server(tmp_root, "quota", env)


def test_successful_installs_are_not_throttled_but_failing_clients_are(quota: RunningRegistry, tmp_path: Path) -> None:
    """Burst 5, 6 per minute, default ``count_successful_requests = false``: 12 packages install (about 30
    requests) without a single 429, while six requests with a wrong token run the bucket dry."""
    quota.create_tenant("quota")
    token = quota.issue_token("quota", "read", "publish", name="ci")
    names = [f"quota-lib-{index:02d}" for index in range(12)]
    _twine_upload(quota, "quota", token, *(build_wheel(tmp_path / "dist", name, "1.0.0") for name in names))
    _pip_install(quota, "quota", token, tmp_path / "site", *names)
    assert "rate_limited" not in quota.log_path.read_text()

    wrong = ("__token__", "pyr_" + "x" * 43)
    statuses = [httpx.get(f"{quota.base_url}/t/quota/simple/", auth=wrong, timeout=10).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
