"""A published file cannot be replaced under another spelling of its name; pip keeps installing the original."""

from __future__ import annotations

import zipfile
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_core_clients import twine_upload
from tests.support.dists import build_sdist, build_wheel
from tests.support.pip_target import pip_install_into
from tests.support.server import RunningRegistry
from tests.support.tenant_access import TenantAccess

pytestmark = pytest.mark.e2e


@pytest.fixture
def tokens(own_tenant: TenantAccess) -> dict[str, str]:
    """A tenant of its own per test (``tenant``) and its tokens: a file wrongly accepted fails one test."""
    return {"tenant": own_tenant.slug, "publish": own_tenant.publish, "read": own_tenant.read}


def _renamed(path: Path, filename: str) -> Path:
    target = path.parent / "renamed" / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    return path.rename(target)


def _zip_sdist(out: Path, name: str, version: str) -> Path:
    """A legacy ``.zip`` sdist of ``name`` with other content than :func:`build_sdist` makes."""
    top = f"{name}-{version}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{top}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{top}/PKG-INFO", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(f"{top}/{name}/__init__.py", "VERSION = 'replaced'\n")
    return path


def _refused(result_output: str) -> str:
    return " ".join(result_output.split())


def _listed(registry: RunningRegistry, tokens: dict[str, str], project: str) -> str:
    page = httpx.get(f"{registry.base_url}/t/{tokens['tenant']}/simple/{project}/", auth=("__token__", tokens["read"]))
    assert page.status_code == 200
    return page.text


def test_a_wheel_under_another_spelling_is_refused_and_pip_installs_the_original(
    registry: RunningRegistry, tokens: dict[str, str], tmp_path: Path
) -> None:
    original = build_wheel(tmp_path / "a", "immut", "1.0", module_source="VERSION = 'original'\n")
    first = twine_upload(registry, tokens["tenant"], tokens["publish"], original)
    assert first.returncode == 0, first.stdout + first.stderr
    for spelling, version in (("Immut-1.0-py3-none-any.whl", "1.0"), ("IMMUT-1.0.0-py3-none-any.whl", "1.0.0")):
        other = build_wheel(tmp_path / spelling, "immut", version, module_source="VERSION = 'replaced'\n")
        second = twine_upload(registry, tokens["tenant"], tokens["publish"], _renamed(other, spelling), verbose=False)
        assert second.returncode != 0
        shown = _refused(second.stdout + second.stderr)
        assert "400 Bad Request" in shown, shown
        assert (
            f"File already exists: '{spelling}' is the same wheel as 'immut-1.0-py3-none-any.whl' (same normalized "
            "name, version, build tag and tags)"
        ) in shown, shown
    page = _listed(registry, tokens, "immut")
    assert page.count(".whl") == page.count("immut-1.0-py3-none-any.whl")
    target = tmp_path / "site"
    pip = pip_install_into(target, registry.index_url(tokens["tenant"], tokens["read"]), "immut==1.0")
    assert pip.returncode == 0, pip.stdout + pip.stderr
    assert (target / "immut" / "__init__.py").read_text() == "VERSION = 'original'\n"


def test_a_release_has_one_sdist_whatever_its_format(
    registry: RunningRegistry, tokens: dict[str, str], tmp_path: Path
) -> None:
    tarball = build_sdist(tmp_path, "one-sdist", "2.0")
    first = twine_upload(registry, tokens["tenant"], tokens["publish"], tarball)
    assert first.returncode == 0, first.stdout + first.stderr
    second = twine_upload(
        registry, tokens["tenant"], tokens["publish"], _zip_sdist(tmp_path / "zip", "one_sdist", "2.0")
    )
    assert second.returncode != 0
    shown = _refused(second.stdout + second.stderr)
    assert (
        "File already exists: release 2.0 of 'one-sdist' already has the sdist 'one_sdist-2.0.tar.gz'; "
        "a release has one sdist (.tar.gz or .zip), as on PyPI."
    ) in shown, shown
    page = _listed(registry, tokens, "one-sdist")
    assert "one_sdist-2.0.tar.gz" in page and ".zip" not in page


def test_a_wheel_with_another_build_tag_is_another_file(
    registry: RunningRegistry, tokens: dict[str, str], tmp_path: Path
) -> None:
    plain = build_wheel(tmp_path / "plain", "rebuilt", "3.0")
    rebuilt = _renamed(build_wheel(tmp_path / "build", "rebuilt", "3.0"), "rebuilt-3.0-1-py3-none-any.whl")
    for wheel in (plain, rebuilt):
        result = twine_upload(registry, tokens["tenant"], tokens["publish"], wheel)
        assert result.returncode == 0, result.stdout + result.stderr
    page = _listed(registry, tokens, "rebuilt")
    assert "rebuilt-3.0-py3-none-any.whl" in page and "rebuilt-3.0-1-py3-none-any.whl" in page
