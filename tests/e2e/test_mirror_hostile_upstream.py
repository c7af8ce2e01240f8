"""A hostile upstream cannot make the mirror fetch other addresses (SSRF): file URLs on another origin, redirects
to another origin and non-http(s) URLs are refused with a generic message, nothing is cached, the log has the
detail. IPv6 literal upstreams work."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.dists import build_wheel
from tests.support.fault_upstream import FaultyProject, FaultyUpstream
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

JSON = {"Accept": "application/vnd.pypi.simple.v1+json"}
REFUSED = "502 upstream file location refused: it is neither the upstream's origin nor an allowed file host\n"


@pytest.fixture(scope="module")
def internal() -> Iterator[FaultyUpstream]:
    """A server the registry must never be made to reach: it would serve the right bytes."""
    with FaultyUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def hostile() -> Iterator[FaultyUpstream]:
    with FaultyUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def mirror(hostile: FaultyUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningRegistry, str]]:
    server = start_registry(
        tmp_path_factory.mktemp("mirror"),
        {
            "PYPI_BASE_URL": hostile.url,
            "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0",
            "PYPI_ARTIFACT_DOWNLOAD_MAX_ATTEMPTS": "3",
        },
    )
    try:
        server.create_tenant("corp", "--enable-mirroring")
        yield server, server.issue_token("corp", "read")
    finally:
        server.stop()


def _serve_both(hostile: FaultyUpstream, internal: FaultyUpstream, tmp_path: Path, name: str, **kw: str) -> Path:
    wheel = build_wheel(tmp_path, name, "1.0")
    internal.add(name, FaultyProject(wheel=wheel))
    hostile.add(name, FaultyProject(wheel=wheel, **kw))  # type: ignore[arg-type]
    return wheel


def _get(mirror: tuple[RunningRegistry, str], path: str) -> httpx.Response:
    server, token = mirror
    headers = JSON if path.startswith("simple/") else {}
    return httpx.get(f"{server.base_url}/t/corp/{path}", headers=headers, auth=("__token__", token), timeout=60)


def _refused(mirror: tuple[RunningRegistry, str], name: str, wheel: Path, detail: str) -> None:
    server, _ = mirror
    assert _get(mirror, f"simple/{name}/").status_code == 200
    for _ in range(2):
        download = _get(mirror, f"files/{name}/1.0/{wheel.name}")
        assert download.status_code == 502
        assert download.text == REFUSED
    blobs = server.workdir / ".pyregistry" / "blobs"
    assert not [path for path in blobs.rglob(wheel.name) if path.is_file()], "nothing may be cached"
    refusals = [line for line in server.log_path.read_text().splitlines() if detail in line]
    assert len(refusals) == 2, "one log line per download, each naming the target (a refusal is never retried)"
    assert all("mirror.upstream_location_refused" in line for line in refusals)


def test_a_file_url_on_another_port_is_refused(mirror, hostile, internal, tmp_path: Path) -> None:
    location = f"{internal.origin}/files/other-port/"
    wheel = _serve_both(hostile, internal, tmp_path, "other-port", file_location=location)
    hostile.projects["other-port"].file_location = location + wheel.name
    _refused(mirror, "other-port", wheel, location + wheel.name)
    assert internal.hits[f"/files/other-port/{wheel.name}"] == 0


def test_a_redirect_to_another_origin_is_refused(mirror, hostile, internal, tmp_path: Path) -> None:
    wheel = _serve_both(hostile, internal, tmp_path, "redirected", redirect_files_to=internal.origin)
    _refused(mirror, "redirected", wheel, f"{internal.origin}/files/redirected/{wheel.name}")
    assert hostile.hits[f"/files/redirected/{wheel.name}"] == 2
    assert internal.hits[f"/files/redirected/{wheel.name}"] == 0


def test_a_file_scheme_url_is_refused(mirror, hostile, internal, tmp_path: Path) -> None:
    wheel = _serve_both(hostile, internal, tmp_path, "local-file", file_location="file:///etc/passwd")
    _refused(mirror, "local-file", wheel, "file:///etc/passwd")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_an_ipv6_literal_upstream_serves_pages_and_files(tmp_path: Path) -> None:
    with FaultyUpstream(host="::1") as upstream:
        _mirror_over_ipv6(upstream, tmp_path)


def _mirror_over_ipv6(upstream: FaultyUpstream, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "six-pkg", "1.0")
    upstream.add("six-pkg", FaultyProject(wheel=wheel))
    assert upstream.url.startswith("http://[::1]:")
    server = start_registry(
        tmp_path / "registry", {"PYPI_BASE_URL": upstream.url, "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0"}
    )
    try:
        server.create_tenant("corp", "--enable-mirroring")
        mirror = (server, server.issue_token("corp", "read"))
        page = _get(mirror, "simple/six-pkg/")
        assert page.status_code == 200, page.text
        assert [file["filename"] for file in page.json()["files"]] == [wheel.name]
        download = _get(mirror, f"files/six-pkg/1.0/{wheel.name}")
        assert download.status_code == 200, download.text
        assert download.content == wheel.read_bytes()
        assert upstream.hits[f"/files/six-pkg/{wheel.name}"] == 1
    finally:
        server.stop()
