"""Upstream page parsing (PEP 691 JSON, PEP 503 HTML), index URL derivation and eager version selection."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from pyregistry_application.mirroring import newest_versions
from pyregistry_infrastructure.upstream.pypi import index_url_for
from pyregistry_infrastructure.upstream.simple_parsing import parse_project_html, parse_project_json
from tests.support.records import sdist_record

SHA = "a" * 64
META = "b" * 64


def test_json_page_resolves_relative_urls_and_reads_pep_691_fields() -> None:
    body = (
        b'{"name": "Demo", "files": ['
        b'{"filename": "demo-1.0-py3-none-any.whl", "url": "../../files/demo-1.0-py3-none-any.whl#x",'
        b' "hashes": {"sha256": "' + SHA.encode() + b'"}, "requires-python": ">=3.9", "yanked": "broken",'
        b' "core-metadata": {"sha256": "' + META.encode() + b'"}, "size": 12},'
        b'{"filename": "demo-0.1.tar.gz", "url": "https://files.example/demo-0.1.tar.gz", "hashes": {"md5": "x"}}]}'
    )
    page = parse_project_json(body, "https://user:pw@up.example/simple/demo/", "demo")
    assert page.name == "Demo"
    [file] = page.files
    assert file.url == "https://up.example/files/demo-1.0-py3-none-any.whl"
    assert (file.sha256, file.requires_python, file.yanked, file.yanked_reason) == (SHA, ">=3.9", True, "broken")
    assert (file.metadata_sha256, file.size) == (META, 12)


def test_html_page_reads_fragments_and_data_attributes() -> None:
    html = f"""<html><head><base href="/pkgs/"></head><body>
    <a href="demo-1.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.8"
       data-core-metadata="sha256={META}">demo-1.0-py3-none-any.whl</a>
    <a href="demo-0.9.tar.gz#sha256={SHA}" data-yanked="">demo-0.9.tar.gz</a>
    <a href="demo-0.8.tar.gz#md5=abc">demo-0.8.tar.gz</a>
    </body></html>"""
    page = parse_project_html(html, "http://up.example/simple/demo/", "demo")
    assert [file.filename for file in page.files] == ["demo-1.0-py3-none-any.whl", "demo-0.9.tar.gz"]
    wheel, sdist = page.files
    assert wheel.url == "http://up.example/pkgs/demo-1.0-py3-none-any.whl"
    assert (wheel.requires_python, wheel.metadata_sha256, wheel.yanked) == (">=3.8", META, False)
    assert (sdist.yanked, sdist.yanked_reason) == (True, None)


def test_ipv6_file_urls_keep_their_brackets_and_malformed_ones_are_skipped() -> None:
    body = (
        b'{"files": ['
        b'{"filename": "demo-1.0.tar.gz", "url": "../../files/demo-1.0.tar.gz", "hashes": {"sha256": "'
        + SHA.encode()
        + b'"}},'
        b'{"filename": "demo-1.1.tar.gz", "url": "http://u:p@[fd00::9]:81/d.tar.gz", "hashes": {"sha256": "'
        + SHA.encode()
        + b'"}},'
        b'{"filename": "demo-1.2.tar.gz", "url": "http://[::1/broken", "hashes": {"sha256": "' + SHA.encode() + b'"}},'
        b'{"filename": "demo-1.4.tar.gz", "url": "../../files/demo\\u0000-1.4.tar.gz", "hashes": {"sha256": "'
        + SHA.encode()
        + b'"}},'
        b'{"filename": "demo-1.3.tar.gz", "url": "http://[::1]:99999/port", "hashes": {"sha256": "'
        + SHA.encode()
        + b'"}}]}'
    )
    page = parse_project_json(body, "http://[::1]:8082/simple/demo/", "demo")
    assert [file.url for file in page.files] == [
        "http://[::1]:8082/files/demo-1.0.tar.gz",
        "http://[fd00::9]:81/d.tar.gz",
    ]
    html = (
        f'<a href="../../files/demo-1.0.tar.gz#sha256={SHA}">demo-1.0.tar.gz</a>'
        f'<a href="http://[::1/demo-1.2.tar.gz#sha256={SHA}">demo-1.2.tar.gz</a>'
    )
    assert [file.url for file in parse_project_html(html, "http://[::1]:8082/simple/demo/", "demo").files] == [
        "http://[::1]:8082/files/demo-1.0.tar.gz"
    ]


def test_malformed_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="invalid JSON"):
        parse_project_json(b"{nope", "http://up.example/simple/demo/", "demo")


@pytest.mark.parametrize(
    ("base", "index"),
    [
        ("https://pypi.org", "https://pypi.org/simple/"),
        ("https://pypi.org/simple", "https://pypi.org/simple/"),
        ("https://pypi.org/simple/", "https://pypi.org/simple/"),
        ("http://127.0.0.1:8080/t/up/", "http://127.0.0.1:8080/t/up/simple/"),
        ("http://__token__:pyr_x@127.0.0.1:8080/t/up/simple/", "http://127.0.0.1:8080/t/up/simple/"),
        ("http://[::1]:8082", "http://[::1]:8082/simple/"),
        ("https://u:p@[2001:db8::7]/pypi/simple/", "https://[2001:db8::7]/pypi/simple/"),
    ],
)
def test_index_url_for(base: str, index: str) -> None:
    url, auth = index_url_for(base)
    assert url == index
    assert (auth is not None) == ("@" in base)
    if auth is not None:
        request = auth.auth_flow(httpx.Request("GET", url)).__next__()
        assert request.headers["authorization"].startswith("Basic ")


def test_index_url_rejects_non_http() -> None:
    with pytest.raises(ValueError, match="http"):
        index_url_for("ftp://example.org/")


def test_newest_versions_uses_pep_440_order_and_rounds_up() -> None:
    files = [sdist_record(version, uploaded_by="mirror") for version in ("1.0", "1.10", "1.9", "2.0rc1", "0.1")]
    assert newest_versions(files, 10) == {"2.0rc1"}
    assert newest_versions(files, 40) == {"2.0rc1", "1.10"}
    assert newest_versions(files, 0) == set()
    assert newest_versions(files, 100) == {"1.0", "1.10", "1.9", "2.0rc1", "0.1"}


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ('"2026-03-01T10:20:30.123456Z"', datetime(2026, 3, 1, 10, 20, 30, 123456, tzinfo=UTC)),
        ('"2026-03-01T12:20:30+02:00"', datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ('"2026-03-01T10:20:30"', datetime(2026, 3, 1, 10, 20, 30, tzinfo=UTC)),
        ('"yesterday"', None),
        ("12345", None),
        ("null", None),
    ],
)
def test_json_page_reads_pep_700_upload_times_as_utc_and_unreadable_ones_as_unknown(
    stamp: str, expected: datetime | None
) -> None:
    body = (
        b'{"files": [{"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz", "hashes": {"sha256": "'
        + SHA.encode()
        + b'"}, "upload-time": '
        + stamp.encode()
        + b"}]}"
    )
    [file] = parse_project_json(body, "https://up.example/simple/demo/", "demo").files
    assert file.upload_time == expected


def test_pep_740_provenance_links_are_read_from_json_and_html_pages() -> None:
    page = "https://up.example/simple/demo/"
    body = (
        b'{"name": "demo", "files": ['
        b'{"filename": "demo-1.0.tar.gz", "url": "../../f/demo-1.0.tar.gz", "hashes": {"sha256": "' + b"a" * 64 + b'"},'
        b' "provenance": "/integrity/demo/1.0/demo-1.0.tar.gz/provenance"},'
        b'{"filename": "demo-2.0.tar.gz", "url": "../../f/demo-2.0.tar.gz", "hashes": {"sha256": "' + b"b" * 64 + b'"},'
        b' "provenance": null}]}'
    )
    first, second = parse_project_json(body, page, "demo").files
    assert first.provenance_url == "https://up.example/integrity/demo/1.0/demo-1.0.tar.gz/provenance"
    assert second.provenance_url is None
    html = (
        f'<a href="../../f/demo-1.0.tar.gz#sha256={"a" * 64}" data-provenance="../../p/demo-1.0.json">'
        "demo-1.0.tar.gz</a>"
        f'<a href="../../f/demo-2.0.tar.gz#sha256={"b" * 64}">demo-2.0.tar.gz</a>'
    )
    first, second = parse_project_html(html, page, "demo").files
    assert (first.provenance_url, second.provenance_url) == ("https://up.example/p/demo-1.0.json", None)
