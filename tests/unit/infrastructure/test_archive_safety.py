"""Each unsafe archive is refused by the inspector that both uploads and ``validate-dist`` use, naming the member."""

from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from pyregistry_domain.distributions import ArchiveFormat, DistributionKind, parse_distribution_filename
from pyregistry_domain.errors import InvalidDistribution
from pyregistry_infrastructure.archives import ArchiveInspector, ArchiveLimits, parse_core_metadata
from tests.support.bad_archives import BAD_ARCHIVES, LINK_CHAINS, link_member, sdist_with
from tests.support.dists import build_sdist, build_wheel


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
def test_unsafe_archive_is_refused_naming_the_member(case: str, tmp_path: Path) -> None:
    build, member = BAD_ARCHIVES[case]
    path = build(tmp_path)
    parsed = parse_distribution_filename(path.name)
    for check in (
        lambda: ArchiveInspector().inspect(path, parsed.kind, parsed.archive_format),
        lambda: ArchiveInspector().verify(path),
    ):
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
    assert ArchiveInspector().inspect(wheel, DistributionKind.WHEEL, ArchiveFormat.ZIP).name == "plain"
    assert ArchiveInspector().inspect(sdist, DistributionKind.SDIST, ArchiveFormat.TAR_GZ).name == "plain"
    linked = sdist_with(
        tmp_path / "links",
        [
            (link_member("evil_archive-1.0.0/docs/setup.py", "../setup.py", tarfile.SYMTYPE), None),
            (link_member("evil_archive-1.0.0/copy.py", "evil_archive-1.0.0/setup.py", tarfile.LNKTYPE), None),
        ],
    )
    assert ArchiveInspector().verify(linked) == 4


def test_links_that_stay_inside_after_resolution_pass(tmp_path: Path) -> None:
    """As with tarfile's ``data`` filter, a link to the archive root and a file written through it are inside."""
    inside = sdist_with(
        tmp_path,
        [
            (link_member("evil_archive-1.0.0/d", "..", tarfile.SYMTYPE), None),
            (link_member("evil_archive-1.0.0/d/e", "evil_archive-1.0.0", tarfile.SYMTYPE), None),
            (tarfile.TarInfo("evil_archive-1.0.0/d/e/inside.txt"), b"inside"),
        ],
    )
    assert ArchiveInspector().verify(inside) == 5


@pytest.mark.parametrize(
    ("filename", "build", "reason"),
    [
        (
            "x-1.0.tar.gz",
            "zip",
            "the filename promises a gzip-compressed tar archive, but the content is a zip archive",
        ),
        ("x-1.0.zip", "tar", "the filename promises a zip archive, but the content is a gzip stream"),
        ("x-1.0-py3-none-any.whl", "tar", "the filename promises a zip archive, but the content is a gzip stream"),
        ("x-1.0-py3-none-any.whl", "text", "the filename promises a zip archive, but the content is neither zip nor"),
        (
            "x-1.0.tar.gz",
            "plain-tar",
            "the filename promises a gzip-compressed tar archive, but the content is neither",
        ),
    ],
)
def test_content_must_be_the_format_the_extension_promises(
    tmp_path: Path, filename: str, build: str, reason: str
) -> None:
    wheel = build_wheel(tmp_path, "x", "1.0")
    sdist = build_sdist(tmp_path, "x", "1.0")
    path = tmp_path / "upload.part"
    if build == "zip":
        path.write_bytes(wheel.read_bytes())
    elif build == "tar":
        path.write_bytes(sdist.read_bytes())
    elif build == "plain-tar":
        with tarfile.open(sdist, "r:gz") as packed, tarfile.open(path, "w") as plain:
            for member in packed:
                plain.addfile(member, packed.extractfile(member))
    else:
        path.write_bytes(b"Metadata-Version: 2.1\nName: x\n")
    parsed = parse_distribution_filename(filename)
    with pytest.raises(InvalidDistribution) as refused:
        ArchiveInspector().inspect(path, parsed.kind, parsed.archive_format)
    assert refused.value.message.startswith(reason), refused.value.message


@pytest.mark.parametrize("field", ["Name", "Version", "Metadata-Version"])
def test_metadata_with_a_field_twice_is_refused(field: str) -> None:
    raw = f"Metadata-Version: 2.1\nName: first\nVersion: 1.0\n{field}: second\n".encode()
    with pytest.raises(InvalidDistribution) as refused:
        parse_core_metadata(raw)
    assert refused.value.message == f"core metadata has more than one {field!r} field"


def test_a_wheel_whose_metadata_names_twice_is_refused(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "twice", "1.0", description="Name: other")
    with pytest.raises(InvalidDistribution, match="core metadata has more than one 'Name' field"):
        ArchiveInspector().inspect(wheel, DistributionKind.WHEEL, ArchiveFormat.ZIP)


# Hypothesis: random member sequences; whatever the inspector accepts extracts inside the target with the
# Python 3.11 default (no filter), seeded with the chains above.

_PARTS = ["evil_archive-1.0.0", "d", "e", "..", ".", "x"]
_paths = st.lists(st.sampled_from(_PARTS), min_size=1, max_size=4).map("/".join)
_members = st.lists(
    st.tuples(_paths, st.sampled_from(["file", "sym", "hard"]), st.one_of(_paths, st.just("/etc"), st.just("."))),
    max_size=7,
)
_SEEDS = [
    [
        (info.name, {tarfile.SYMTYPE: "sym", tarfile.LNKTYPE: "hard"}.get(info.type, "file"), info.linkname)
        for info, _data in members
    ]
    for members, _culprit in LINK_CHAINS.values()
]


def _seeded(test: Callable[..., None]) -> Callable[..., None]:
    for seed in _SEEDS:
        test = example(members=seed)(test)
    return test


def _extract_like_python_311(archive: Path, target: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as packed:
            packed.extractall(target, filter="fully_trusted")
    except (OSError, tarfile.TarError, KeyError):
        pass  # an extraction that fails part-way is fine; only what it wrote matters


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@_seeded
@given(members=_members)
def test_accepted_archives_extract_inside_the_target(members: list[tuple[str, str, str]]) -> None:
    kinds = {"sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE}
    extra: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for name, kind, target in members:
        if kind == "file":
            extra.append((tarfile.TarInfo(name), b"written"))
        else:
            extra.append((link_member(name, target, kinds[kind]), None))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        archive = sdist_with(root / "built", extra)
        try:
            ArchiveInspector().verify(archive)
        except InvalidDistribution:
            event("refused")
            return
        event("accepted")
        outer = root / "outer"
        (outer / "dest").mkdir(parents=True)
        secret = outer / "secret"
        secret.write_bytes(b"untouched")
        _extract_like_python_311(archive, outer / "dest")
        assert sorted(path.name for path in outer.iterdir()) == ["dest", "secret"]
        assert secret.read_bytes() == b"untouched"
        assert secret.stat().st_nlink == 1
        dest = os.path.realpath(outer / "dest")
        for path in (outer / "dest").rglob("*"):
            if path.is_symlink():  # realpath, not resolve(): a dangling link loop inside is harmless
                resolved = os.path.realpath(path)
                assert resolved == dest or resolved.startswith(dest + os.sep), (path, path.readlink())


_header_value = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1)


@settings(max_examples=200, deadline=None)
@example(field="Name", first="immut", second="Immut", position=0)
@example(field="Version", first="1.0", second="2.0", position=3)
@given(
    field=st.sampled_from(["Metadata-Version", "Name", "Version"]),
    first=_header_value,
    second=_header_value,
    position=st.integers(0, 4),
)
def test_a_repeated_identity_field_is_refused_wherever_it_is(
    field: str, first: str, second: str, position: int
) -> None:
    lines = ["Metadata-Version: 2.1", "Name: pkg", "Version: 1.0", "Summary: s"]
    lines = [line for line in lines if not line.startswith(f"{field}:")] + [f"{field}: {first}"]
    lines.insert(min(position, len(lines)), f"{field}: {second}")
    with pytest.raises(InvalidDistribution) as refused:
        parse_core_metadata(("\n".join(lines) + "\n").encode())
    assert refused.value.message == f"core metadata has more than one {field!r} field"
