"""The walking skeleton end to end: twine uploads, pip and uv install, tenant isolation, refusals."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env
from tests.support.tenant_access import TenantAccess

pytestmark = pytest.mark.e2e


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=180, env=clean_client_env(), **kwargs)  # type: ignore[call-overload]


def twine_upload(
    registry: RunningRegistry, tenant: str, token: str, *files: Path, verbose: bool = True
) -> subprocess.CompletedProcess[str]:
    return run(
        [
            str(BIN_DIR / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            *(["--verbose"] if verbose else []),
            "--repository-url",
            registry.upload_url(tenant),
            "-u",
            "__token__",
            "-p",
            token,
            *map(str, files),
        ]
    )


@pytest.fixture(scope="module")
def acme(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    registry.create_tenant("acme", "--admin-email", "admin@acme.test", "--admin-password", "acme-admin-pw")
    registry.create_tenant("globex")
    dist = tmp_path_factory.mktemp("dist")
    files = [
        build_wheel(dist, "acme-tools", "1.0.0"),
        build_sdist(dist, "acme-tools", "1.0.0"),
        build_wheel(dist, "acme_tools", "1.1.0"),
        build_wheel(dist, "Widget.Lib", "0.3.0", requires_python=">=3.9"),
        build_sdist(dist, "Widget.Lib", "0.3.0"),
    ]
    publish = registry.issue_token("acme", "publish", name="ci")
    result = twine_upload(registry, "acme", publish, *files)
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        "files": files,
        "read": registry.issue_token("acme", "read", name="installer"),
        "publish": publish,
        "globex_read": registry.issue_token("globex", "read", "publish", name="globex"),
    }


def test_pip_install_from_tenant_index(registry: RunningRegistry, acme: dict[str, object], tmp_path: Path) -> None:
    target = tmp_path / "site"
    result = run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--target",
            str(target),
            "--index-url",
            registry.index_url("acme", str(acme["read"])),
            "acme-tools",
            "widget-lib",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "acme_tools" / "__init__.py").read_text() == "VERSION = '1.1.0'\n"
    assert (target / "widget_lib" / "__init__.py").exists()


def test_uv_pip_install_from_tenant_index(registry: RunningRegistry, acme: dict[str, object], tmp_path: Path) -> None:
    target = tmp_path / "site"
    result = run(
        [
            str(BIN_DIR / "uv"),
            "pip",
            "install",
            "--no-cache",
            "--python",
            sys.executable,
            "--target",
            str(target),
            "--index-url",
            registry.index_url("acme", str(acme["read"])),
            "acme-tools==1.0.0",
            "widget-lib",
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "acme_tools" / "__init__.py").read_text() == "VERSION = '1.0.0'\n"


def test_pip_download_require_hashes(registry: RunningRegistry, acme: dict[str, object], tmp_path: Path) -> None:
    wheel = next(path for path in acme["files"] if path.name == "acme_tools-1.1.0-py3-none-any.whl")  # type: ignore[attr-defined]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"acme-tools==1.1.0 --hash=sha256:{sha256_of(wheel)}\n")
    result = run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-cache-dir",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(requirements),
            "-d",
            str(tmp_path / "dl"),
            "--index-url",
            registry.index_url("acme", str(acme["read"])),
        ]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "dl" / wheel.name).read_bytes() == wheel.read_bytes()

    requirements.write_text(f"acme-tools==1.1.0 --hash=sha256:{'0' * 64}\n")
    mismatch = run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-cache-dir",
            "--no-deps",
            "--require-hashes",
            "-r",
            str(requirements),
            "-d",
            str(tmp_path / "dl2"),
            "--index-url",
            registry.index_url("acme", str(acme["read"])),
        ]
    )
    assert mismatch.returncode != 0
    assert "HASHES" in mismatch.stderr.upper()


def test_sdist_listed_and_downloadable(registry: RunningRegistry, acme: dict[str, object]) -> None:
    auth = ("__token__", str(acme["read"]))
    page = httpx.get(
        f"{registry.base_url}/t/acme/simple/widget-lib/",
        auth=auth,
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    ).json()
    sdist = next(item for item in page["files"] if item["filename"].endswith(".tar.gz"))
    assert page["versions"] == ["0.3.0"]
    body = httpx.get(f"{registry.base_url}/t/acme/simple/widget-lib/{sdist['url']}", auth=auth, follow_redirects=True)
    assert body.status_code == 200
    assert hashlib.sha256(body.content).hexdigest() == sdist["hashes"]["sha256"]
    assert int(body.headers["content-length"]) == sdist["size"]
    assert body.headers["etag"] == f'"{sdist["hashes"]["sha256"]}"'


def test_other_tenant_token_is_forbidden(registry: RunningRegistry, acme: dict[str, object]) -> None:
    auth = ("__token__", str(acme["globex_read"]))
    assert httpx.get(f"{registry.base_url}/t/acme/simple/", auth=auth).status_code == 403
    assert httpx.get(f"{registry.base_url}/t/acme/simple/acme-tools/", auth=auth).status_code == 403
    url = f"{registry.base_url}/t/acme/files/acme-tools/1.1.0/acme_tools-1.1.0-py3-none-any.whl"
    assert httpx.get(url, auth=auth).status_code == 403
    own = httpx.get(f"{registry.base_url}/t/globex/simple/", auth=auth)
    assert own.status_code == 200
    assert "acme-tools" not in own.text


def test_read_token_cannot_upload(registry: RunningRegistry, own_tenant: TenantAccess, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "acme-tools", "9.9.9")
    result = twine_upload(registry, own_tenant.slug, own_tenant.read, wheel)
    assert result.returncode != 0
    assert "403" in result.stdout + result.stderr
    index = httpx.get(
        f"{registry.base_url}/t/{own_tenant.slug}/simple/",
        auth=("__token__", own_tenant.read),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    assert index.json()["projects"] == []


def test_missing_or_bad_credentials_get_401_with_challenge(registry: RunningRegistry, acme: dict[str, object]) -> None:
    for auth in (None, ("__token__", "pyr_not-a-real-token"), ("__token__", "pyr_AAAAAAAAAAAA_" + "A" * 43)):
        response = httpx.get(f"{registry.base_url}/t/acme/simple/", auth=auth)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
    pip = run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-v",
            "--no-cache-dir",
            "--no-deps",
            "-d",
            "/tmp/never",
            "--index-url",
            registry.index_url("acme"),
            "acme-tools",
        ]
    )
    assert pip.returncode != 0
    assert "No matching distribution" in pip.stderr


def test_non_normalized_project_url_redirects(registry: RunningRegistry, acme: dict[str, object]) -> None:
    response = httpx.get(f"{registry.base_url}/t/acme/simple/Widget.Lib/", auth=("__token__", str(acme["read"])))
    assert response.status_code == 301
    assert response.headers["location"].endswith("/t/acme/simple/widget-lib/")


@pytest.mark.parametrize("name", ["%25%C3%80", "caf%C3%A9", "-lead", "a%20b"])
def test_names_no_project_can_have_are_404_not_a_redirect(
    registry: RunningRegistry, acme: dict[str, object], name: str
) -> None:
    response = httpx.get(f"{registry.base_url}/t/acme/simple/{name}/", auth=("__token__", str(acme["read"])))
    assert response.status_code == 404
    assert "no such project" in response.text


def test_unsupported_accept_is_406(registry: RunningRegistry, acme: dict[str, object]) -> None:
    response = httpx.get(
        f"{registry.base_url}/t/acme/simple/acme-tools/",
        auth=("__token__", str(acme["read"])),
        headers={"Accept": "application/xml"},
    )
    assert response.status_code == 406
    assert response.text == (
        "406 unsupported Accept header: ask for application/vnd.pypi.simple.v1+json, "
        "application/vnd.pypi.simple.v1+html or text/html\n"
    )


def test_core_metadata_served_for_wheels(registry: RunningRegistry, acme: dict[str, object]) -> None:
    auth = ("__token__", str(acme["read"]))
    page = httpx.get(
        f"{registry.base_url}/t/acme/simple/acme-tools/",
        auth=auth,
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    ).json()
    wheel = next(item for item in page["files"] if item["filename"].endswith("1.1.0-py3-none-any.whl"))
    url = f"{registry.base_url}/t/acme/files/acme-tools/1.1.0/{wheel['filename']}.metadata"
    metadata = httpx.get(url, auth=auth)
    assert metadata.status_code == 200
    assert hashlib.sha256(metadata.content).hexdigest() == wheel["core-metadata"]["sha256"]
    assert b"Name: acme_tools" in metadata.content or b"Name: acme-tools" in metadata.content
    assert wheel["requires-python"] == ">=3.8"
    assert wheel["upload-time"].endswith("Z")


def test_download_under_another_version_is_404(registry: RunningRegistry, acme: dict[str, object]) -> None:
    auth = ("__token__", str(acme["read"]))
    wheel = "acme_tools-1.1.0-py3-none-any.whl"
    files = f"{registry.base_url}/t/acme/files/acme-tools"
    assert httpx.get(f"{files}/1.1.0/{wheel}", auth=auth).status_code == 200
    for url in (f"{files}/1.0.0/{wheel}", f"{files}/1.0.0/{wheel}.metadata", f"{files}/not-a-version/{wheel}"):
        response = httpx.get(url, auth=auth)
        assert response.status_code == 404, url
        assert f"{wheel!r} belongs to version 1.1.0 of project 'acme-tools'" in response.text, response.text


@pytest.mark.parametrize(
    "accept",
    ["application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.v1+html", "text/html"],
)
def test_each_accepted_format_is_answered_with_its_content_type(
    registry: RunningRegistry, acme: dict[str, object], accept: str
) -> None:
    auth = ("__token__", str(acme["read"]))
    for path in ("/t/acme/simple/", "/t/acme/simple/acme-tools/"):
        response = httpx.get(f"{registry.base_url}{path}", auth=auth, headers={"Accept": accept})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == accept, path
        assert "Accept" in response.headers["vary"]


def test_html_project_page_links_the_core_metadata_of_wheels_only(
    registry: RunningRegistry, acme: dict[str, object]
) -> None:
    """PEP 714/658: a wheel's anchor carries the sha256 of the ``.metadata`` file beside it; an sdist's carries none."""
    auth = ("__token__", str(acme["read"]))
    page = f"{registry.base_url}/t/acme/simple/acme-tools/"
    html = httpx.get(page, auth=auth, headers={"Accept": "text/html"}).text
    anchors = {name: attributes for attributes, name in re.findall(r"<a ([^>]*)>([^<]+)</a>", html)}
    assert sorted(anchors) == [
        "acme_tools-1.0.0-py3-none-any.whl",
        "acme_tools-1.0.0.tar.gz",
        "acme_tools-1.1.0-py3-none-any.whl",
    ]
    for filename, attributes in anchors.items():
        href = re.search(r'href="([^"#]+)#', attributes)
        assert href is not None, attributes
        metadata = httpx.get(urljoin(page, href.group(1)) + ".metadata", auth=auth)
        if filename.endswith(".whl"):
            assert metadata.status_code == 200
            expected = f"sha256={hashlib.sha256(metadata.content).hexdigest()}"
            assert f'data-core-metadata="{expected}"' in attributes, attributes
            assert f'data-dist-info-metadata="{expected}"' in attributes, attributes
        else:
            assert metadata.status_code == 404
            assert "data-core-metadata" not in attributes and "data-dist-info-metadata" not in attributes


def test_twine_without_verbose_shows_why_an_upload_was_refused(
    registry: RunningRegistry, own_tenant: TenantAccess, tmp_path: Path
) -> None:
    """twine prints only the reason phrase of a failed upload (to its console, stdout): it carries the cause."""
    wheel = build_wheel(tmp_path, "acme-tools", "1.1.0")
    first = twine_upload(registry, own_tenant.slug, own_tenant.publish, wheel, verbose=False)
    assert first.returncode == 0, first.stdout + first.stderr
    duplicate = twine_upload(registry, own_tenant.slug, own_tenant.publish, wheel, verbose=False)
    assert duplicate.returncode != 0
    shown = " ".join((duplicate.stdout + duplicate.stderr).split())
    assert "HTTPError: 400 Bad Request" in shown and "--verbose" in shown, shown
    assert f"File already exists: '{wheel.name}' was uploaded to tenant '{own_tenant.slug}' before" in shown, shown
    refused = twine_upload(
        registry,
        own_tenant.slug,
        own_tenant.read,
        build_wheel(tmp_path / "new", "acme-tools", "7.0"),
        verbose=False,
    )
    assert refused.returncode != 0
    refusal = " ".join((refused.stdout + refused.stderr).split())
    assert "403 Forbidden" in refusal and "this token lacks the 'publish' scope" in refusal, refusal
    raw = httpx.get(f"{registry.base_url}/t/acme/simple/", auth=("__token__", "pyr_bad"))
    assert raw.status_code == 401 and raw.reason_phrase.startswith("not a valid token: it is cut short or altered")
    assert "x-pyregistry-reason" not in raw.headers
