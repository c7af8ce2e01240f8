"""Provenance continuity decided on plain values: which files of which releases are held, and why."""

from __future__ import annotations

from pyregistry_domain.provenance_continuity import AttestedFile, continuity_holds

GH = "github:acme/tools/release.yml"
OTHER = "github:mallory/tools/release.yml"


def _files(*rows: tuple[str, str | None]) -> list[AttestedFile]:
    return [AttestedFile(f"tools-{version}.tar.gz", version, identity) for version, identity in rows]


def test_a_project_that_never_attested_holds_nothing() -> None:
    assert continuity_holds(_files(("1.0", None), ("2.0", None)), ()) == {}


def test_releases_before_the_first_attested_one_are_not_held() -> None:
    assert continuity_holds(_files(("1.0", None), ("2.0", GH), ("3.0", GH)), ()) == {}


def test_a_release_without_provenance_after_attested_ones_is_held() -> None:
    held = continuity_holds(_files(("1.0", GH), ("1.1", GH), ("2.0", None)), ())
    assert held == {
        "tools-2.0.tar.gz": (
            f"held by provenance continuity: tools-2.0.tar.gz has no verified provenance, "
            f"but earlier releases were attested by {GH}"
        )
    }


def test_a_release_from_another_identity_is_held_and_does_not_become_trusted() -> None:
    held = continuity_holds(_files(("1.0", GH), ("2.0", OTHER), ("3.0", OTHER), ("4.0", GH)), ())
    assert set(held) == {"tools-2.0.tar.gz", "tools-3.0.tar.gz"}
    assert f"was attested by {OTHER}, but earlier releases by {GH}" in held["tools-2.0.tar.gz"]


def test_versions_are_ordered_by_pep_440_not_by_text() -> None:
    held = continuity_holds(_files(("10.0", None), ("9.0", GH)), ())
    assert list(held) == ["tools-10.0.tar.gz"]


def test_one_unattested_file_of_a_release_is_held_alone() -> None:
    files = [
        *_files(("1.0", GH)),
        AttestedFile("tools-2.0.tar.gz", "2.0", GH),
        AttestedFile("tools-2.0-py3-none-any.whl", "2.0", None),
    ]
    assert list(continuity_holds(files, ())) == ["tools-2.0-py3-none-any.whl"]


def test_an_admin_release_serves_the_version_and_trusts_its_identity() -> None:
    files = _files(("1.0", GH), ("2.0", OTHER), ("3.0", OTHER), ("4.0", None))
    held = continuity_holds(files, {"2.0"})
    assert list(held) == ["tools-4.0.tar.gz"]
    assert f"attested by {GH}, {OTHER}" in held["tools-4.0.tar.gz"]


def test_a_version_that_is_not_pep_440_sorts_first_and_never_crashes() -> None:
    held = continuity_holds(_files(("nightly", None), ("1.0", GH), ("2.0", None)), ())
    assert list(held) == ["tools-2.0.tar.gz"]
