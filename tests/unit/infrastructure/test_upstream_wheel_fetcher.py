"""Fetching a wheel to audit goes through the mirror's upstream client and is checked against the page's sha256."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyregistry_domain.errors import NotFound, UpstreamUnavailable
from pyregistry_infrastructure.upstream.wheel_fetcher import UpstreamWheelFetcher
from tests.support.dists import build_wheel
from tests.support.memory_upstream import FILES_URL, MemoryUpstream


@pytest.fixture
def setup(tmp_path: Path) -> tuple[UpstreamWheelFetcher, MemoryUpstream, Path]:
    upstream = MemoryUpstream()
    wheel = build_wheel(tmp_path / "dists", "audited", "1.0")
    upstream.serve("audited", [wheel])
    target = tmp_path / "target"
    target.mkdir()
    return UpstreamWheelFetcher(upstream), upstream, wheel


def test_a_listed_wheel_is_downloaded_and_verified(setup, tmp_path: Path) -> None:
    fetcher, upstream, wheel = setup
    fetched = fetcher.fetch("Audited", wheel.name, tmp_path / "target")
    assert fetched == tmp_path / "target" / wheel.name
    assert fetched.read_bytes() == wheel.read_bytes()
    assert upstream.requests[FILES_URL + wheel.name] == 1


def test_bytes_that_do_not_match_the_page_are_refused_and_removed(setup, tmp_path: Path) -> None:
    fetcher, upstream, wheel = setup
    upstream.fail(FILES_URL + wheel.name, "corrupt")
    with pytest.raises(
        UpstreamUnavailable, match=re.escape(f"upstream bytes of '{wheel.name}' do not match the recorded sha256")
    ):
        fetcher.fetch("audited", wheel.name, tmp_path / "target")
    assert list((tmp_path / "target").iterdir()) == []


def test_unknown_projects_files_and_names_are_not_found(setup, tmp_path: Path) -> None:
    fetcher, _, wheel = setup
    with pytest.raises(NotFound, match=r"^project 'nothing' not found upstream$"):
        fetcher.fetch("nothing", wheel.name, tmp_path / "target")
    with pytest.raises(NotFound, match="is not a file of 'audited' upstream and not a local file"):
        fetcher.fetch("audited", "audited-9.9-py3-none-any.whl", tmp_path / "target")
    with pytest.raises(NotFound, match="is not a wheel file name"):
        fetcher.fetch("audited", "../audited-1.0.tar.gz", tmp_path / "target")
