"""Purging a file, a release or a project from the admin use cases also deletes the stored provenance objects
(SQLite metadata, filesystem blobs, wired exactly as the server wires them)."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from pyregistry_application.admin_services import AdminServices, build_admin_services
from pyregistry_application.blob_keys import metadata_key_for, provenance_key_for
from pyregistry_application.dto import SpooledUpload, UploadCommand
from pyregistry_bootstrap.wiring import Runtime, build_runtime
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.users import User
from tests.support.dists import build_wheel
from tests.support.settings import runtime_settings

ATTESTATION = {
    "version": 1,
    "verification_material": {"certificate": base64.b64encode(b"cert").decode(), "transparency_entries": [{}]},
    "envelope": {"statement": base64.b64encode(b"{}").decode(), "signature": base64.b64encode(b"sig").decode()},
}


class Registry:
    """A runtime on SQLite and the filesystem with tenant ``acme`` and a publish token."""

    def __init__(self, root: Path) -> None:
        settings = runtime_settings(root)
        self.runtime: Runtime = build_runtime(settings)
        services = self.runtime.services
        self.admin: AdminServices = build_admin_services(services)
        services.tenants.create_tenant(
            slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
        )
        self.secret = services.tokens.issue(tenant_slug="acme", name="ci", scopes=["read", "publish"], actor="t").secret
        superadmin = services.metadata.users.get_user_by_email(settings.superadmin_email)
        assert superadmin is not None
        self.superadmin: User = superadmin
        self.root = root

    def upload_attested(self, name: str, version: str) -> ReleaseFile:
        wheel = build_wheel(self.root / f"{name}-{version}", name, version)
        spooled = self.root / (wheel.name + ".part")
        shutil.copy(wheel, spooled)
        data = wheel.read_bytes()
        content = SpooledUpload(
            path=str(spooled),
            filename=wheel.name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            blake2_256=hashlib.blake2b(data, digest_size=32).hexdigest(),
        )
        fields = {
            ":action": ["file_upload"],
            "name": [name],
            "version": [version],
            "sha256_digest": [content.sha256],
            "attestations": [json.dumps([ATTESTATION])],
        }
        services = self.runtime.services
        services.uploads.execute(
            UploadCommand(tenant_slug="acme", token_secret=self.secret, fields=fields, content=content)
        )
        tenant = services.metadata.tenants.get_tenant_by_slug("acme")
        assert tenant is not None
        file = services.metadata.catalogue.get_file(tenant.id, wheel.name)
        assert file is not None and file.has_provenance
        assert self.provenance_stored(file)
        return file

    def provenance_stored(self, file: ReleaseFile) -> bool:
        return self.runtime.services.storage.stat(provenance_key_for(file.blob_key)) is not None

    def blobs_of(self, file: ReleaseFile) -> set[str]:
        keys = {file.blob_key, metadata_key_for(file.blob_key), provenance_key_for(file.blob_key)}
        return keys & set(self.runtime.services.storage.list_keys())


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path)


def test_purging_a_file_deletes_its_provenance(registry: Registry) -> None:
    purged, kept = registry.upload_attested("widget", "1.0"), registry.upload_attested("widget", "2.0")
    registry.admin.releases.purge_file(registry.superadmin, "acme", "widget", purged.filename)
    assert registry.blobs_of(purged) == set()
    assert registry.provenance_stored(kept)


def test_purging_a_release_deletes_its_provenance(registry: Registry) -> None:
    purged, kept = registry.upload_attested("widget", "1.0"), registry.upload_attested("widget", "2.0")
    assert registry.admin.releases.purge_release(registry.superadmin, "acme", "widget", "1.0") == 1
    assert registry.blobs_of(purged) == set()
    assert registry.provenance_stored(kept)


def test_purging_a_project_deletes_every_provenance(registry: Registry) -> None:
    files = [registry.upload_attested("widget", version) for version in ("1.0", "2.0")]
    kept = registry.upload_attested("gadget", "1.0")
    assert registry.admin.releases.purge_project(registry.superadmin, "acme", "widget") == 2
    assert [registry.blobs_of(file) for file in files] == [set(), set()]
    assert registry.provenance_stored(kept)
