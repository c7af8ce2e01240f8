"""The application layer driven directly, with no web layer: upload, list, download, authorize."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pyregistry_application.access import TokenAccess
from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import AuditQuery, SpooledUpload, UploadCommand, UploadResult
from pyregistry_application.index import PackageIndex
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.ports import Clock
from pyregistry_application.spooled_files import spooled_file
from pyregistry_application.tenants import TenantAdministration
from pyregistry_application.tokens import TokenIssuer
from pyregistry_application.uploads import UploadDistribution
from pyregistry_domain.errors import AlreadyExists, Forbidden, InvalidDistribution, NotFound, Unauthenticated
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_infrastructure.archives import ArchiveInspector
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.sigstore_attestations import SigstoreAttestationVerifier
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher, SystemClock
from tests.support.dists import build_wheel
from tests.unit.application.test_admin_use_cases import SteppingClock


class App:
    """The use cases on in-memory store and filesystem blobs (either replaceable); clock defaults to the real one."""

    def __init__(
        self,
        root: Path,
        clock: Clock | None = None,
        *,
        store: MetadataBackend | None = None,
        storage: OpenDalStorage | None = None,
    ) -> None:
        self.store = store or memory_backend()
        self.storage = storage or OpenDalStorage.filesystem(root / "blobs")
        self.clock: Clock = clock or SystemClock()
        self.ids = RandomIds()
        clock, ids = self.clock, self.ids
        self.audit = AuditTrail(self.store.audit_log, clock, ids)
        self.access = TokenAccess(self.store.tenants, self.store.tokens, clock)
        self.tenants = TenantAdministration(
            self.store.tenants, self.store.users, clock, ids, ScryptPasswordHasher(n=2**10), self.audit
        )
        self.tokens = TokenIssuer(self.store.tenants, self.store.tokens, clock, ids, self.audit)
        self.uploads = UploadDistribution(
            self.store.tenants,
            self.store.catalogue,
            self.storage,
            ArchiveInspector(),
            self.access,
            self.audit,
            clock,
            ids,
            10 * 1024 * 1024,
            attestation_verifier=SigstoreAttestationVerifier(),
        )
        self.index = PackageIndex(self.store.catalogue, self.storage, self.access)
        self.spool = root / "spool"
        self.spool.mkdir()

    def spooled(self, wheel: Path) -> SpooledUpload:
        copy = self.spool / (wheel.name + ".part")
        shutil.copy(wheel, copy)
        return spooled_file(copy, wheel.name)

    def upload(
        self,
        tenant: str,
        secret: str | None,
        wheel: Path,
        name: str,
        version: str,
        extra: dict[str, list[str]] | None = None,
    ) -> UploadResult:
        """Upload ``wheel`` as twine would; ``extra`` adds form fields (e.g. ``attestations``)."""
        content = self.spooled(wheel)
        fields = {":action": ["file_upload"], "name": [name], "version": [version], "sha256_digest": [content.sha256]}
        fields.update(extra or {})
        return self.uploads.execute(
            UploadCommand(tenant_slug=tenant, token_secret=secret, fields=fields, content=content)
        )


@pytest.fixture
def app(tmp_path: Path) -> App:
    application = App(tmp_path)
    application.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="test"
    )
    application.tenants.create_tenant(
        slug="other", display_name="Other", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    return application


def test_upload_then_list_and_download(app: App, tmp_path: Path) -> None:
    token = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["read", "publish"], actor="test")
    wheel = build_wheel(tmp_path / "dist", "Demo_Pkg", "1.0")
    result = app.upload("acme", token.secret, wheel, "Demo_Pkg", "1.0")
    assert result.new_project and result.new_release
    page = app.index.project_page("acme", token.secret, "demo-pkg")
    assert [file.filename for file in page.files] == [wheel.name]
    assert page.versions == ["1.0"]
    download = app.index.download("acme", token.secret, "demo-pkg", wheel.name, version="1.0")
    assert b"".join(app.index.chunks(download.file)) == wheel.read_bytes()
    assert b"Name: Demo_Pkg" in app.index.core_metadata("acme", token.secret, "demo-pkg", wheel.name, version="1.0")
    events = app.audit.query(AuditQuery(action="package.upload")).items
    assert [event.target for event in events] == [f"demo-pkg==1.0/{wheel.name}"]
    assert token.secret not in repr(app.store.audit_log.list_audit_events(AuditQuery()).items)


def test_download_needs_the_files_own_version(app: App, tmp_path: Path) -> None:
    token = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["read", "publish"], actor="test")
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0a1")
    app.upload("acme", token.secret, wheel, "demo", "1.0a1")
    assert app.index.download("acme", token.secret, "demo", wheel.name, version="1.0-alpha1").file.version == "1.0a1"
    message = r"file 'demo-1\.0a1-py3-none-any\.whl' belongs to version 1\.0a1 of project 'demo', not '2\.0'"
    with pytest.raises(NotFound, match=message):
        app.index.download("acme", token.secret, "demo", wheel.name, version="2.0")
    for version in ("1.0", "not a version"):
        with pytest.raises(NotFound, match=r"belongs to version 1\.0a1"):
            app.index.core_metadata("acme", token.secret, "demo", wheel.name, version=version)


def test_duplicate_and_refusals_leave_no_blobs(app: App, tmp_path: Path) -> None:
    token = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="test")
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0")
    app.upload("acme", token.secret, wheel, "demo", "1.0")
    blobs = sorted(app.storage.list_keys())
    with pytest.raises(AlreadyExists, match="File already exists"):
        app.upload("acme", token.secret, wheel, "demo", "1.0")
    liar = build_wheel(tmp_path / "liar", "demo", "2.0", metadata_version="3.0")
    with pytest.raises(InvalidDistribution, match=r"version 3\.0"):
        app.upload("acme", token.secret, liar, "demo", "2.0")
    assert sorted(app.storage.list_keys()) == blobs


def test_authorization_rules(app: App, tmp_path: Path) -> None:
    reader = app.tokens.issue(tenant_slug="acme", name="r", scopes=["read"], actor="test")
    other = app.tokens.issue(tenant_slug="other", name="o", scopes=["read", "publish"], actor="test")
    scoped = app.tokens.issue(tenant_slug="acme", name="s", scopes=["publish"], project="only-me", actor="test")
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0")
    with pytest.raises(Unauthenticated):
        app.upload("acme", None, wheel, "demo", "1.0")
    with pytest.raises(Forbidden, match="publish"):
        app.upload("acme", reader.secret, wheel, "demo", "1.0")
    with pytest.raises(Forbidden, match="another tenant"):
        app.upload("acme", other.secret, wheel, "demo", "1.0")
    with pytest.raises(Forbidden, match="limited to project"):
        app.upload("acme", scoped.secret, wheel, "demo", "1.0")
    with pytest.raises(NotFound):
        app.index.project_page("acme", reader.secret, "demo")
    app.tokens.revoke("acme", reader.id, actor="test")
    with pytest.raises(Exception, match="revoked"):
        app.index.listing("acme", reader.secret)


def test_token_use_is_recorded_at_most_once_a_minute(tmp_path: Path) -> None:
    clock = SteppingClock()
    app = App(tmp_path, clock=clock)
    app.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    issued = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["read"], actor="test")

    def last_used() -> datetime | None:
        return next(token.last_used_at for token in app.tokens.list("acme") if token.id == issued.id)

    assert last_used() is None
    first_use = clock.now()
    app.access.authenticate(issued.secret)
    assert last_used() == first_use
    clock.advance(59)
    app.index.listing("acme", issued.secret)
    assert last_used() == first_use, "uses within a minute of the recorded one are not written"
    clock.advance(1)
    app.index.listing("acme", issued.secret)
    assert last_used() == first_use + timedelta(seconds=60)


class Authorizations:
    """An ``AuthorizationListener`` that keeps the names of the tokens it was told about."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def token_authorized(self, token: ApiToken) -> None:
        self.names.append(token.name)


def test_the_listener_hears_only_tokens_allowed_on_the_tenant(app: App) -> None:
    heard = Authorizations()
    access = TokenAccess(app.store.tenants, app.store.tokens, app.clock, heard)
    reader = app.tokens.issue(tenant_slug="acme", name="reader", scopes=["read"], actor="test")
    other = app.tokens.issue(tenant_slug="other", name="other", scopes=["read"], actor="test")
    access.authorize("acme", reader.secret, TokenScope.READ)
    with pytest.raises(Forbidden, match="another tenant"):
        access.authorize("acme", other.secret, TokenScope.READ)
    with pytest.raises(Forbidden, match="lacks the 'publish' scope"):
        access.authorize("acme", reader.secret, TokenScope.PUBLISH)
    assert heard.names == ["reader"]


def test_surrounding_whitespace_around_a_token_is_ignored(app: App) -> None:
    issued = app.tokens.issue(tenant_slug="acme", name="pasted", scopes=["read"], actor="test")
    assert app.access.authenticate(f"  {issued.secret}\n").id == issued.id
    with pytest.raises(Unauthenticated):
        app.access.authenticate(" \t")


def test_a_spooled_file_carries_its_size_and_the_three_upload_digests(tmp_path: Path) -> None:
    body = b"x" * (3 * 1024 * 1024 + 7)
    path = tmp_path / "big.whl"
    path.write_bytes(body)
    spooled = spooled_file(path, "demo-1.0-py3-none-any.whl")
    assert (spooled.path, spooled.filename, spooled.size) == (str(path), "demo-1.0-py3-none-any.whl", len(body))
    assert spooled.sha256 == hashlib.sha256(body).hexdigest()
    assert spooled.md5 == hashlib.md5(body, usedforsecurity=False).hexdigest()
    assert spooled.blake2_256 == hashlib.blake2b(body, digest_size=32).hexdigest()
