"""A registry wired exactly as the server wires it (SQLite metadata, filesystem blobs), driven in process: tenant
``acme``, a read+publish token, uploads through the upload use case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pyregistry_application.admin_services import AdminServices, build_admin_services
from pyregistry_application.blob_keys import metadata_key_for, provenance_key_for
from pyregistry_application.dto import UploadCommand
from pyregistry_application.spooled_files import spooled_file
from pyregistry_bootstrap.wiring import Runtime, build_runtime
from pyregistry_domain.distributions import ReleaseFile, parse_distribution_filename
from pyregistry_domain.users import User
from tests.support.attestations import Attested
from tests.support.dists import build_wheel
from tests.support.settings import runtime_settings

__all__ = ["Registry"]


class Registry:
    """A runtime on SQLite and the filesystem with tenant ``acme`` and a publish token."""

    def __init__(self, root: Path, *, export_metrics: bool = False) -> None:
        settings = runtime_settings(root)
        self.runtime: Runtime = build_runtime(settings, export_metrics=export_metrics)
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

    def upload(self, path: Path, attestations: list[dict[str, Any]] | None = None) -> ReleaseFile:
        """Upload a distribution as twine would, with ``attestations`` when given."""
        spooled = self.root / (path.name + ".part")
        shutil.copy(path, spooled)
        content = spooled_file(spooled, path.name)
        parsed = parse_distribution_filename(path.name)
        fields = {
            ":action": ["file_upload"],
            "name": [parsed.normalized_name],
            "version": [parsed.version],
            "sha256_digest": [content.sha256],
        }
        if attestations is not None:
            fields["attestations"] = [json.dumps(attestations)]
        services = self.runtime.services
        services.uploads.execute(
            UploadCommand(tenant_slug="acme", token_secret=self.secret, fields=fields, content=content)
        )
        tenant = services.metadata.tenants.get_tenant_by_slug("acme")
        assert tenant is not None
        file = services.metadata.catalogue.get_file(tenant.id, path.name)
        assert file is not None
        return file

    def upload_wheel(self, name: str, version: str) -> ReleaseFile:
        """Upload a freshly built wheel without attestations."""
        return self.upload(build_wheel(self.root / f"{name}-{version}", name, version))

    def upload_attested(self, attested: Attested) -> ReleaseFile:
        """Upload a real attested sdist with its attestation (verified, then stored as provenance)."""
        file = self.upload(attested.path, [attested.attestation])
        assert file.has_provenance and self.provenance_stored(file)
        return file

    def provenance_stored(self, file: ReleaseFile) -> bool:
        return self.runtime.services.storage.stat(provenance_key_for(file.blob_key)) is not None

    def blobs_of(self, file: ReleaseFile) -> set[str]:
        keys = {file.blob_key, metadata_key_for(file.blob_key), provenance_key_for(file.blob_key)}
        return keys & set(self.runtime.services.storage.list_keys())
