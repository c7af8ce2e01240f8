"""Each unsafe archive is refused by the inspector that both uploads and ``validate-dist`` use, naming the member."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from pyregistry_domain.distributions import DistributionKind
from pyregistry_domain.errors import InvalidDistribution
from pyregistry_infrastructure.archives import ArchiveInspector, ArchiveLimits
from tests.support.bad_archives import BAD_ARCHIVES, link_member, sdist_with
from tests.support.dists import build_sdist, build_wheel


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
def test_unsafe_archive_is_refused_naming_the_member(case: str, tmp_path: Path) -> None:
    build, member = BAD_ARCHIVES[case]
    path = build(tmp_path)
    kind = DistributionKind.WHEEL if path.name.endswith(".whl") else DistributionKind.SDIST
    for check in (lambda: ArchiveInspector().inspect(path, kind), lambda: ArchiveInspector().verify(path)):
        with pytest.raises(InvalidDistribution) as refused:
            check()
        assert member in refused.value.message, refused.value.message


def test_tar_total_size_limit_names_the_member(tmp_path: Path) -> None:
    sdist = build_sdist(tmp_path, "sized", "1.0.0")
    limits = ArchiveLimits(max_total_uncompressed=1024)
    with pytest.raises(InvalidDistribution, match="uncompressed size limit of 1024 bytes"):
        ArchiveInspector(limits).verify(sdist)


def test_safe_links_and_ordinary_archives_pass(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "plain", "1.0.0")
    sdist = build_sdist(tmp_path, "plain", "1.0.0")
    assert ArchiveInspector().inspect(wheel, DistributionKind.WHEEL).name == "plain"
    assert ArchiveInspector().inspect(sdist, DistributionKind.SDIST).name == "plain"
    linked = sdist_with(
        tmp_path / "links",
        [
            (link_member("evil_archive-1.0.0/docs/setup.py", "../setup.py", tarfile.SYMTYPE), None),
            (link_member("evil_archive-1.0.0/copy.py", "evil_archive-1.0.0/setup.py", tarfile.LNKTYPE), None),
        ],
    )
    assert ArchiveInspector().verify(linked) == 4
