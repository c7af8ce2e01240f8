"""Mirrored provenance and provenance continuity driven through the use cases: an in-process upstream serves the
real attestations (shared/attestations), verification is the real sigstore adapter, stores are in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.index import PackageIndex
from pyregistry_application.mirror_ports import UpstreamFile
from pyregistry_application.mirror_provenance import MirroredProvenance
from pyregistry_application.mirroring import MirrorOptions
from pyregistry_application.provenance import ProvenanceReader, provenance_key_for
from pyregistry_application.provenance_continuity import HeldByProvenance, ProvenanceContinuity
from pyregistry_application.provenance_ports import ProvenanceStatus
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_infrastructure.metadata_stores.memory_provenance import MemoryProvenanceRecordStore
from pyregistry_infrastructure.sigstore_attestations import SigstoreAttestationVerifier
from tests.support.attestations import (
    flipped_signature,
    github_attested,
    gitlab_attested,
    needs_attestations,
    upstream_provenance,
)
from tests.support.background import mirror_service
from tests.support.dists import build_wheel, sha256_of
from tests.support.memory_upstream import FILES_URL, MemoryUpstream
from tests.unit.application.test_admin_use_cases import SteppingClock
from tests.unit.application.test_application_without_web import App

pytestmark = needs_attestations

PROJECT = "pypi-attestations"
SIGNER = "github:trailofbits/pypi-attestations/release.yml"
PROVENANCE_URL = "https://pypi.example/integrity/pypi-attestations/0.0.19/pypi_attestations-0.0.19.tar.gz/provenance"


class World:
    """Tenant ``corp`` mirrors ``pypi-attestations`` from an in-process upstream; continuity is on by default."""

    def __init__(self, root: Path, *, default: bool = True) -> None:
        self.clock = SteppingClock()
        self.app = App(root, self.clock)
        for slug in ("corp", "lax"):
            self.app.tenants.create_tenant(
                slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=True, actor="t"
            )
        self.upstream = MemoryUpstream()
        store = self.app.store
        self.records = store.provenance_records
        self.provenance = MirroredProvenance(
            self.records, self.app.storage, self.upstream.fetch_bytes, SigstoreAttestationVerifier(), self.clock
        )
        self.continuity = ProvenanceContinuity(
            store.tenants, store.catalogue, self.records, self.app.audit, self.clock, default=default
        )
        options = MirrorOptions(
            download_concurrency=1, eager_download_percent=0, max_attempts=1, metadata_ttl_seconds=0
        )
        self.service = mirror_service(
            store,
            self.app.storage,
            self.upstream,
            self.clock,
            self.app.audit,
            root / "spool",
            options,
            provenance=self.provenance,
            continuity=self.continuity,
        )
        self.index = PackageIndex(store.catalogue, self.app.storage, self.app.access, self.service)
        self.reader = self.app.tokens.issue(tenant_slug="corp", name="pip", scopes=["read"], actor="t").secret
        self.attested = github_attested()
        self.entries: list[UpstreamFile] = []
        self.add(self.attested.path, PROVENANCE_URL, json.dumps(upstream_provenance()).encode())

    def add(self, path: Path, provenance_url: str | None = None, provenance: bytes | None = None) -> None:
        url = FILES_URL + path.name
        self.upstream.bodies[url] = path.read_bytes()
        if provenance_url is not None and provenance is not None:
            self.upstream.bodies[provenance_url] = provenance
        self.entries.append(
            UpstreamFile(
                filename=path.name,
                url=url,
                sha256=sha256_of(path),
                size=path.stat().st_size,
                provenance_url=provenance_url,
            )
        )
        self.upstream.serve(PROJECT, [], extra=self.entries)

    def tenant_id(self, slug: str = "corp") -> str:
        tenant = self.app.store.tenants.get_tenant_by_slug(slug)
        assert tenant is not None
        return tenant.id

    def offered(self, slug: str = "corp") -> list[str]:
        secret = (
            self.reader
            if slug == "corp"
            else self.app.tokens.issue(
                tenant_slug=slug, name=f"pip-{len(self.entries)}", scopes=["read"], actor="t"
            ).secret
        )
        return [file.filename for file in self.index.project_page(slug, secret, PROJECT).files]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    created = World(tmp_path)
    yield created
    created.service.close()


def test_verified_upstream_provenance_is_recorded_and_served(world: World) -> None:
    assert world.offered() == [world.attested.filename]
    [record] = world.records.project_provenance(world.tenant_id(), PROJECT).values()
    assert (record.status, record.identity, record.sha256) == (ProvenanceStatus.VERIFIED, SIGNER, world.attested.sha256)
    assert json.loads(record.publisher or "{}")["repository"] == "trailofbits/pypi-attestations"
    file = world.app.store.catalogue.get_file(world.tenant_id(), world.attested.filename)
    assert file is not None and file.has_provenance
    served = ProvenanceReader(world.app.store.catalogue, world.app.storage, world.app.access).provenance(
        "corp", world.reader, PROJECT, "0.0.19", world.attested.filename
    )
    assert json.loads(served)["attestation_bundles"][0]["attestations"] == [world.attested.attestation]

    world.offered()
    assert world.upstream.requests[PROVENANCE_URL] == 1, "a recorded file is not checked again"


def test_a_later_release_without_provenance_is_held_until_an_admin_releases_it(world: World, tmp_path: Path) -> None:
    world.offered()
    later = build_wheel(tmp_path / "later", PROJECT, "0.0.20")
    world.add(later)
    assert world.offered() == [world.attested.filename]
    with pytest.raises(HeldByProvenance) as held:
        world.index.download("corp", world.reader, PROJECT, later.name, version="0.0.20")
    assert held.value.message == (
        f"held by provenance continuity: {later.name} has no verified provenance, but earlier releases were "
        f"attested by {SIGNER}; an admin of the tenant can release version 0.0.20"
    )
    with pytest.raises(HeldByProvenance):
        world.index.core_metadata("corp", world.reader, PROJECT, later.name, version="0.0.20")
    assert world.continuity.held(world.tenant_id(), []) == {}

    with pytest.raises(ValidationFailed, match="a reason is required"):
        world.continuity.release("corp", PROJECT, "0.0.20", actor="admin", reason=" ")
    with pytest.raises(ValidationFailed, match=r"0\.0\.19 is not held"):
        world.continuity.release("corp", PROJECT, "0.0.19", actor="admin", reason="nothing to release")
    with pytest.raises(NotFound, match="tenant 'nowhere' does not exist"):
        world.continuity.release("nowhere", PROJECT, "0.0.20", actor="admin", reason="x")
    release = world.continuity.release("corp", "PyPI_Attestations", "0.0.20", actor="admin", reason="new pipeline")
    assert (release.version, release.released_by) == ("0.0.20", "admin")
    assert sorted(world.offered()) == sorted([world.attested.filename, later.name])
    assert world.index.download("corp", world.reader, PROJECT, later.name, version="0.0.20").content is not None
    [event] = world.app.audit.query(AuditQuery(action="mirror.provenance_hold_released")).items
    assert event.target == "pypi-attestations==0.0.20" and event.details["reason"] == "new pipeline"
    assert "has no verified provenance" in event.details["held"]


def test_the_policy_is_per_tenant_and_returns_to_the_default(world: World, tmp_path: Path) -> None:
    world.add(build_wheel(tmp_path / "later", PROJECT, "0.0.20"))
    world.continuity.set_enabled("lax", False, actor="admin")
    assert len(world.offered("lax")) == 2
    assert world.continuity.enabled(world.tenant_id("lax")) is False
    world.continuity.set_enabled("lax", None, actor="admin")
    assert world.continuity.enabled(world.tenant_id("lax")) is True
    assert len(world.offered("lax")) == 1
    events = world.app.audit.query(AuditQuery(action="tenant.provenance_continuity")).items
    assert sorted(event.details["continuity"] for event in events) == ["default", "off"]
    with pytest.raises(NotFound):
        world.continuity.set_enabled("nowhere", True, actor="admin")


def test_continuity_off_by_default_holds_nothing(tmp_path: Path) -> None:
    world = World(tmp_path, default=False)
    try:
        world.add(build_wheel(tmp_path / "later", PROJECT, "0.0.20"))
        assert len(world.offered()) == 2
    finally:
        world.service.close()


GOOGLE = {"kind": "Google", "email": "a@b"}
GITLAB = {"kind": "GitLab", "repository": "facutuesca/gitlab-oidc-project", "workflow_filepath": ".gitlab-ci.yml"}


def _bundle(attestations: list[Any], publisher: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "publisher": publisher
        or {"kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "release.yml"},
        "attestations": attestations,
    }


@pytest.mark.parametrize(
    ("provenance", "detail"),
    [
        (b"{not json", "provenance: not valid JSON"),
        (json.dumps({"version": 2}).encode(), "not a version 1 provenance object"),
        (json.dumps({"version": 1, "attestation_bundles": []}).encode(), "no attestation bundles"),
        (json.dumps({"version": 1, "attestation_bundles": ["x"]}).encode(), "bundle [0] has no publisher"),
        (
            json.dumps(
                {"version": 1, "attestation_bundles": [_bundle([], {"kind": "Google", "email": "a@b"})]}
            ).encode(),
            "names a publisher kind that cannot be verified here",
        ),
        (
            json.dumps({"version": 1, "attestation_bundles": [_bundle("x")]}).encode(),  # type: ignore[arg-type]
            "bundle [0] has no attestations",
        ),
        ("flipped", "DSSE: invalid signature"),
        ("other workflow", "signed by github:trailofbits/pypi-attestations/release.yml, but"),
        ("two signers", "attestations: [0] signs"),
    ],
)
def test_upstream_provenance_that_does_not_verify_is_recorded_as_refused_and_not_served(
    tmp_path: Path, provenance: bytes | str, detail: str
) -> None:
    world = World(tmp_path)
    attestation = world.attested.attestation
    if provenance == "flipped":
        provenance = json.dumps({"version": 1, "attestation_bundles": [_bundle([flipped_signature(attestation)])]})
    elif provenance == "other workflow":
        other = {"kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "nightly.yml"}
        provenance = json.dumps({"version": 1, "attestation_bundles": [_bundle([attestation], other)]})
    elif provenance == "two signers":
        gitlab = {
            "kind": "GitLab",
            "repository": "facutuesca/gitlab-oidc-project",
            "workflow_filepath": ".gitlab-ci.yml",
        }
        bundles = [_bundle([attestation]), _bundle([gitlab_attested().attestation], gitlab)]
        provenance = json.dumps({"version": 1, "attestation_bundles": bundles})
    world.upstream.bodies[PROVENANCE_URL] = provenance.encode() if isinstance(provenance, str) else provenance
    try:
        assert world.offered() == [world.attested.filename]
        [record] = world.records.project_provenance(world.tenant_id(), PROJECT).values()
        assert record.status is ProvenanceStatus.REFUSED and record.identity is None
        assert detail in record.detail
        file = world.app.store.catalogue.get_file(world.tenant_id(), world.attested.filename)
        assert file is not None and not file.has_provenance
    finally:
        world.service.close()


def test_missing_provenance_is_absent_and_an_unreachable_one_is_tried_again(world: World, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", PROJECT, "0.0.18")
    world.add(wheel, "https://pypi.example/integrity/missing", None)
    world.upstream.fail(PROVENANCE_URL, "down")
    world.offered()
    records = world.records.project_provenance(world.tenant_id(), PROJECT)
    assert records[wheel.name].status is ProvenanceStatus.ABSENT
    assert world.attested.filename not in records, "an unreachable upstream records nothing"
    world.offered()
    assert world.records.project_provenance(world.tenant_id(), PROJECT)[world.attested.filename].status is (
        ProvenanceStatus.VERIFIED
    )


def test_a_local_upload_taking_the_project_over_removes_the_mirrored_provenance(world: World, tmp_path: Path) -> None:
    world.offered()
    mirrored = world.app.store.catalogue.get_file(world.tenant_id(), world.attested.filename)
    assert mirrored is not None and world.app.storage.stat(provenance_key_for(mirrored.blob_key)) is not None
    publisher = world.app.tokens.issue(tenant_slug="corp", name="ci", scopes=["publish"], actor="t").secret
    world.app.upload("corp", publisher, build_wheel(tmp_path / "local", PROJECT, "1.0"), PROJECT, "1.0")
    assert world.app.store.catalogue.get_file(world.tenant_id(), world.attested.filename) is None
    assert world.app.storage.stat(provenance_key_for(mirrored.blob_key)) is None


def test_fetches_per_refresh_are_bounded_newest_versions_first(world: World, tmp_path: Path) -> None:
    newer = build_wheel(tmp_path / "newer", PROJECT, "0.0.20")
    world.add(newer, "https://pypi.example/integrity/newer", None)
    unattested = build_wheel(tmp_path / "plain", PROJECT, "0.0.1")
    world.add(unattested)
    world.offered()
    files = world.app.store.catalogue.list_files(world.tenant_id(), PROJECT)
    fresh = MemoryProvenanceRecordStore()
    bounded = MirroredProvenance(
        fresh, world.app.storage, world.upstream.fetch_bytes, SigstoreAttestationVerifier(), world.clock, max_fetches=1
    )
    urls = {entry.filename: entry.provenance_url for entry in world.entries}
    first = bounded.check(world.tenant_id(), PROJECT, files, urls)
    assert set(fresh.project_provenance(world.tenant_id(), PROJECT)) == {newer.name, unattested.name}
    assert not any(file.has_provenance for file in first)
    second = bounded.check(world.tenant_id(), PROJECT, files, urls)
    assert [file.filename for file in second if file.has_provenance] == [world.attested.filename]
