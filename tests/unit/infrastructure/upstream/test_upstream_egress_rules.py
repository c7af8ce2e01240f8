"""Which upstream URLs the mirror fetches (origin, file hosts, internal addresses) and how proxies are chosen."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import structlog

from pyregistry_infrastructure.upstream.egress import proxy_mounts, tls_context
from pyregistry_infrastructure.upstream.locations import (
    LOCATION_REFUSED,
    LocationRefused,
    UpstreamLocations,
    default_file_hosts,
)
from tests.support.tls import make_test_certificates

PYPI = "https://pypi.org/simple/"
PUBLIC = {"pypi.org": ["151.101.0.223"], "files.pythonhosted.org": ["151.101.1.63", "2a04:4e42::319"]}


def _resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        return table.get(host, [])

    return resolve


def test_public_pypi_fetches_its_own_origin_and_its_file_host_only() -> None:
    assert default_file_hosts(PYPI) == ["files.pythonhosted.org"]
    assert default_file_hosts("https://test.pypi.org/simple/") == ["test-files.pythonhosted.org"]
    assert default_file_hosts("http://127.0.0.1:8080/simple/") == []
    rules = UpstreamLocations(PYPI, default_file_hosts(PYPI), _resolver(PUBLIC))
    assert rules.check("https://pypi.org/simple/requests/") == ("https", "pypi.org", 443)
    assert rules.check("https://files.pythonhosted.org/packages/ab/requests.whl") == (
        "https",
        "files.pythonhosted.org",
        443,
    )
    for url in (
        "https://pypi.org:8443/packages/x.whl",
        "https://evil.example/x.whl",
        "https://files.pythonhosted.org:6379/x.whl",
        "file:///etc/passwd",
        "gopher://files.pythonhosted.org/x",
        "http://[::1]:6379/x.whl",
        "http://169.254.169.254/latest/meta-data/",
    ):
        with pytest.raises(LocationRefused, match=f"^{LOCATION_REFUSED}$"):
            rules.check(url)


def test_a_file_host_resolving_to_an_internal_address_is_refused_for_a_public_upstream() -> None:
    table = {**PUBLIC, "files.pythonhosted.org": ["151.101.1.63", "10.0.0.5"]}
    rules = UpstreamLocations(PYPI, ["files.pythonhosted.org"], _resolver(table))
    with pytest.raises(LocationRefused):
        rules.check("https://files.pythonhosted.org/x.whl")
    for internal in ("127.0.0.1", "169.254.169.254", "::1", "fe80::1%eth0", "::ffff:192.168.1.1"):
        rules = UpstreamLocations(
            PYPI, ["files.pythonhosted.org"], _resolver({**PUBLIC, "files.pythonhosted.org": [internal]})
        )
        with pytest.raises(LocationRefused):
            rules.check("https://files.pythonhosted.org/x.whl")


def test_an_internal_upstream_may_use_internal_file_hosts_listed_with_ports() -> None:
    table = {"devpi.internal": ["10.1.2.3"], "blobs.internal": ["10.1.2.4"]}
    rules = UpstreamLocations(
        "http://devpi.internal:3141/root/pypi/+simple/", ["blobs.internal:9000"], _resolver(table)
    )
    assert rules.check("http://blobs.internal:9000/x.whl") == ("http", "blobs.internal", 9000)
    with pytest.raises(LocationRefused):
        rules.check("http://blobs.internal/x.whl")
    with pytest.raises(LocationRefused):
        rules.check("http://devpi.internal:6379/x.whl")


def test_file_hosts_may_be_ipv6_literals() -> None:
    rules = UpstreamLocations("http://[::1]:8082/simple/", ["[::1]:9000", "fd00::2"], _resolver({}))
    assert rules.check("http://[::1]:8082/files/x.whl") == ("http", "::1", 8082)
    assert rules.check("http://[::1]:9000/x.whl") == ("http", "::1", 9000)
    assert rules.check("https://[fd00::2]/x.whl") == ("https", "fd00::2", 443)
    with pytest.raises(LocationRefused):
        rules.check("http://[::1]:9001/x.whl")


def _routes(proxy_url: str | None, environ: dict[str, str]) -> dict[str, str | None]:
    mounts = proxy_mounts(proxy_url, environ, ssl.create_default_context())
    return {pattern: None if transport is None else type(transport).__name__ for pattern, transport in mounts.items()}


def test_proxies_come_from_the_configuration_or_the_environment_and_no_proxy_exempts_hosts() -> None:
    assert _routes(None, {}) == {}
    assert _routes(None, {"NO_PROXY": "example.com"}) == {}
    environ = {"https_proxy": "http://lower:3128", "HTTPS_PROXY": "http://upper:3128", "no_proxy": "*"}
    assert _routes(None, environ) == {}
    mounts = proxy_mounts(
        None,
        {"HTTPS_PROXY": "proxy:3128", "NO_PROXY": ".corp.example, 10.0.0.0/8, ::1, localhost"},
        ssl.create_default_context(),
    )
    assert list(mounts) == ["https://", "all://*.corp.example", "all://[::1]", "all://localhost"]
    assert isinstance(mounts["https://"], httpx.HTTPTransport)
    assert _routes("http://configured:8080", {"HTTP_PROXY": "http://env:3128", "NO_PROXY": "pypi.org,127.0.0.1"}) == {
        "all://": "HTTPTransport",
        "all://*pypi.org": None,
        "all://127.0.0.1": None,
    }
    assert _routes(None, {"ALL_PROXY": "http://all:3128", "HTTP_PROXY": "http://plain:3128"}) == {
        "all://": "HTTPTransport",
        "http://": "HTTPTransport",
    }


def test_no_proxy_entries_with_a_scheme_are_kept_as_patterns() -> None:
    assert _routes(None, {"HTTP_PROXY": "http://p:3128", "NO_PROXY": "https://mirror.example"}) == {
        "http://": "HTTPTransport",
        "https://mirror.example": None,
    }


def test_ca_locations_from_the_environment_and_the_configuration_are_trusted(tmp_path: Path) -> None:
    certificates = make_test_certificates(tmp_path / "tls")
    hashed = tmp_path / "hashed"
    hashed.mkdir()
    environ = {"SSL_CERT_FILE": str(tmp_path / "missing.pem"), "SSL_CERT_DIR": str(hashed)}
    with structlog.testing.capture_logs() as logs:
        context = tls_context(str(certificates.ca), environ)
    subjects = [dict(item[0] for item in cert["subject"]) for cert in context.get_ca_certs()]
    assert {"commonName": "pyregistry test CA"} in subjects
    assert len(subjects) > 100, "the system store and certifi's bundle stay trusted"
    assert logs == [
        {
            "event": "mirror.ca_location_missing",
            "log_level": "warning",
            "source": "SSL_CERT_FILE",
            "path": str(tmp_path / "missing.pem"),
        }
    ]
