"""/metrics after pip installs through a mirroring tenant (pypiserver upstream on loopback): the first download of a
file streams from upstream, the next one comes from the mirror cache."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_mirror_pypiserver_upstream import pypiserver  # noqa: F401 (the upstream fixture)
from tests.support.metrics_scrape import Samples, scrape
from tests.support.server import RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e


@pytest.fixture
def mirror(pypiserver: tuple[str, list[Path]], tmp_path: Path) -> Iterator[RunningRegistry]:  # noqa: F811
    server = start_registry(
        tmp_path / "mirror", {"PYPI_BASE_URL": pypiserver[0], "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0"}
    )
    try:
        server.create_tenant("corp", "--enable-mirroring")
        yield server
    finally:
        server.stop()


def pip_install(index: str, target: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-deps", "--target", str(target),
         "--index-url", index, "served-lib==0.2.0"],
        capture_output=True, text=True, timeout=180, env=clean_client_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def downloads(samples: Samples, before: Samples) -> dict[str, float]:
    return {
        dict(labels)["source"]: value
        for (_, labels), value in samples.changed(before, "pyregistry_downloads_total").items()
    }


def test_pip_through_the_mirror_counts_upstream_then_cache(mirror: RunningRegistry, tmp_path: Path) -> None:
    index = mirror.index_url("corp", mirror.issue_token("corp", "read", name="installer"))
    before = scrape(mirror.base_url)
    pip_install(index, tmp_path / "first")
    first = scrape(mirror.base_url)  # the file is stored before its last chunk is sent, so it is cached now
    pip_install(index, tmp_path / "second")
    second = scrape(mirror.base_url)

    assert downloads(first, before) == {"upstream": 1.0}
    assert downloads(second, first) == {"mirror_cache": 1.0}
    assert second.get("pyregistry_uploads_total") == 0
