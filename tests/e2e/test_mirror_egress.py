"""Mirroring through a TLS-inspecting egress: the upstream's CA from SSL_CERT_FILE or ``pypi.ca_bundle``, and
HTTPS_PROXY / NO_PROXY / ``pypi.proxy_url`` honoured, against a loopback https upstream and CONNECT proxy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.connect_proxy import ConnectProxy
from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.server import start_registry
from tests.support.tls import TlsFiles, make_test_certificates

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
SYSTEM_BUNDLE = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"
UNTRUSTED = "upstream TLS certificate is not trusted: add its CA to pypi.ca_bundle (PYPI_CA_BUNDLE) or SSL_CERT_FILE"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_test_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def upstream(certificates: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultyUpstream]:
    with FaultyUpstream(tls=certificates.server_context()) as server:
        wheel = build_wheel(tmp_path_factory.mktemp("wheels"), "secure-pkg", "1.0")
        server.add("secure-pkg", FaultyProject(wheel=wheel))
        yield server


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as server:
        yield server


def _mirror(tmp_path: Path, upstream: FaultyUpstream, env: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
    """Start a mirroring registry with ``env``; the project page and the wheel's first download through it."""
    server = start_registry(
        tmp_path,
        {
            "PYPI_BASE_URL": upstream.url,
            "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0",
            "PYPI_ARTIFACT_DOWNLOAD_MAX_ATTEMPTS": "1",
            "SSL_CERT_FILE": SYSTEM_BUNDLE,
            **env,
        },
    )
    try:
        server.create_tenant("corp", "--enable-mirroring")
        auth = ("__token__", server.issue_token("corp", "read"))
        page = httpx.get(f"{server.base_url}/t/corp/simple/secure-pkg/", headers=JSON, auth=auth, timeout=60)
        wheel = upstream.projects["secure-pkg"].wheel
        url = f"{server.base_url}/t/corp/files/secure-pkg/1.0/{wheel.name}"
        return page, httpx.get(url, auth=auth, timeout=60)
    finally:
        server.stop()


def _served(page: httpx.Response, download: httpx.Response, upstream: FaultyUpstream) -> None:
    wheel = upstream.projects["secure-pkg"].wheel
    assert page.status_code == 200, page.text
    assert [file["filename"] for file in page.json()["files"]] == [wheel.name]
    assert download.status_code == 200, download.text
    assert download.content == wheel.read_bytes()


def test_the_upstream_ca_in_ssl_cert_file_is_trusted(tmp_path: Path, upstream, certificates) -> None:
    page, download = _mirror(tmp_path, upstream, {"SSL_CERT_FILE": str(certificates.ca)})
    _served(page, download, upstream)


def test_an_untrusted_upstream_certificate_is_a_clear_502(tmp_path: Path, upstream) -> None:
    page, _ = _mirror(tmp_path, upstream, {})
    assert page.status_code == 502
    assert page.json() == {"message": UNTRUSTED, "status": 502}


def test_pypi_ca_bundle_adds_the_upstream_ca_to_the_system_store(tmp_path: Path, upstream, certificates) -> None:
    page, download = _mirror(tmp_path, upstream, {"PYPI_CA_BUNDLE": str(certificates.ca)})
    _served(page, download, upstream)


def test_https_proxy_from_the_environment_tunnels_every_request(
    tmp_path: Path, upstream, certificates, proxy: ConnectProxy
) -> None:
    env = {"SSL_CERT_FILE": str(certificates.ca), "HTTPS_PROXY": proxy.url, "NO_PROXY": "example.invalid"}
    page, download = _mirror(tmp_path, upstream, env)
    _served(page, download, upstream)
    target = upstream.origin.removeprefix("https://")
    assert proxy.connected and set(proxy.connected) == {target}


def test_no_proxy_sends_the_upstream_direct(tmp_path: Path, upstream, certificates, proxy: ConnectProxy) -> None:
    env = {"SSL_CERT_FILE": str(certificates.ca), "HTTPS_PROXY": proxy.url, "NO_PROXY": "localhost,127.0.0.1"}
    page, download = _mirror(tmp_path, upstream, env)
    _served(page, download, upstream)
    assert proxy.connected == []


def test_pypi_proxy_url_tunnels_every_request(tmp_path: Path, upstream, certificates, proxy: ConnectProxy) -> None:
    page, download = _mirror(tmp_path, upstream, {"PYPI_CA_BUNDLE": str(certificates.ca), "PYPI_PROXY_URL": proxy.url})
    _served(page, download, upstream)
    assert proxy.connected and set(proxy.connected) == {upstream.origin.removeprefix("https://")}


def test_http_proxy_from_the_environment_forwards_a_plain_http_upstream(
    tmp_path: Path, proxy: ConnectProxy, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with FaultyUpstream() as plain:
        plain.add("secure-pkg", FaultyProject(wheel=build_wheel(tmp_path_factory.mktemp("plain"), "secure-pkg", "1.0")))
        page, download = _mirror(tmp_path, plain, {"HTTP_PROXY": proxy.url, "HTTPS_PROXY": "http://127.0.0.1:9"})
        _served(page, download, plain)
    assert proxy.connected and set(proxy.connected) == {plain.origin.removeprefix("http://")}
