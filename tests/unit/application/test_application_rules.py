"""Use-case rules by example, on the in-memory store and filesystem storage: every refusal names its reason."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from pyregistry_application.blob_keys import metadata_key_for, mirrored_blob_key_for
from pyregistry_application.dto import AuditQuery, UploadCommand, UploadResult
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.errors import (
    AlreadyExists,
    InvalidDistribution,
    InvalidToken,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from pyregistry_domain.projects import Project, ProjectOrigin, Release
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.metadata_stores.memory_catalogue import MemoryCatalogue
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState
from pyregistry_infrastructure.system import SystemClock
from tests.support.dists import build_sdist, build_wheel
from tests.unit.application.test_application_without_web import App


@pytest.fixture
def app(tmp_path: Path) -> App:
    application = App(tmp_path)
    application.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    return application


@pytest.fixture
def publisher(app: App) -> str:
    return app.tokens.issue(tenant_slug="acme", name="ci", scopes=["read", "publish"], actor="t").secret


def _fields(wheel: Path, name: str = "demo", version: str = "1.0", **extra: list[str]) -> dict[str, list[str]]:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return {":action": ["file_upload"], "name": [name], "version": [version], "sha256_digest": [digest], **extra}


def _execute(app: App, secret: str, wheel: Path, fields: dict[str, list[str]]) -> UploadResult:
    command = UploadCommand(tenant_slug="acme", token_secret=secret, fields=fields, content=app.spooled(wheel))
    return app.uploads.execute(command)


def test_tenant_admins(app: App) -> None:
    created = app.tenants.create_tenant(
        slug="beta",
        display_name="Beta",
        admin_email="Boss@Beta.example",
        admin_password="long-password",
        mirroring_enabled=True,
        actor="t",
    )
    boss = app.store.users.get_user_by_email("boss@beta.example")
    assert boss is not None and created.mirroring_enabled
    app.tenants.create_tenant(
        slug="gamma",
        display_name="Gamma",
        admin_email="boss@beta.example",
        admin_password=None,
        mirroring_enabled=False,
        actor="t",
    )
    boss = app.store.users.get_user_by_email("boss@beta.example")
    assert boss is not None and {app.tenants.get("beta").id, app.tenants.get("gamma").id} <= boss.tenant_ids
    with pytest.raises(AlreadyExists):
        app.tenants.create_tenant(
            slug="beta", display_name="B", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
        )
    for password, message in (
        (None, "the admin password is missing: x@d.example has no account yet, so one is needed"),
        ("", "the admin password is missing: x@d.example has no account yet, so one is needed"),
        ("short", "password must have at least 8 characters"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            app.tenants.create_tenant(
                slug="delta",
                display_name="D",
                admin_email="x@d.example",
                admin_password=password,
                mirroring_enabled=False,
                actor="t",
            )
        assert refused.value.message == message
    assert [tenant.slug for tenant in app.tenants.list()] == ["acme", "beta", "gamma"]
    assert not app.tenants.set_mirroring("beta", False, actor="t").mirroring_enabled
    with pytest.raises(NotFound, match="'nope'"):
        app.tenants.get("nope")


def test_token_rules(app: App) -> None:
    with pytest.raises(NotFound):
        app.tokens.issue(tenant_slug="nope", name="x", scopes=["read"], actor="t")
    with pytest.raises(ValidationFailed, match="token name"):
        app.tokens.issue(tenant_slug="acme", name="  ", scopes=["read"], actor="t")
    for lifetime in (timedelta(0), timedelta(days=3650, seconds=1), timedelta.max):
        with pytest.raises(ValidationFailed) as refused:
            app.tokens.issue(tenant_slug="acme", name="x", scopes=["read"], expires_in=lifetime, actor="t")
        assert refused.value.message == "token lifetime must be more than 0 and at most 3650 days (10 years)"
    assert app.tokens.list("acme") == []
    first = app.tokens.issue(tenant_slug="acme", name="one", scopes=["read"], actor="t")
    second = app.tokens.issue(
        tenant_slug="acme", name="two", scopes=["read"], project="Demo_Pkg", expires_in=timedelta(days=1), actor="t"
    )
    assert second.project == "demo-pkg" and second.expires_at is not None
    assert {token.id for token in app.tokens.list("acme")} == {first.id, second.id}
    with pytest.raises(NotFound):
        app.tokens.list("nope")
    with pytest.raises(NotFound):
        app.tokens.revoke("nope", first.id, actor="t")
    with pytest.raises(NotFound, match="does not exist in tenant"):
        app.tokens.revoke("acme", "missing", actor="t")
    with pytest.raises(InvalidToken):
        app.access.authenticate("pyr_" + "A" * 40)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({":action": ["submit"]}, ValidationFailed, "unsupported :action"),
        ({"name": ["demo", "other"]}, ValidationFailed, "more than once"),
        ({"version": []}, ValidationFailed, "missing required form field 'version'"),
        ({"name": ["other"]}, ValidationFailed, "is for project 'demo'"),
        ({"version": ["2.0"]}, ValidationFailed, "is for version 1.0"),
        ({"filetype": ["sdist"]}, ValidationFailed, "filetype 'sdist' does not match"),
        ({"sha256_digest": ["0" * 64]}, ValidationFailed, "does not match the uploaded file"),
        ({"sha256_digest": []}, ValidationFailed, "missing digest"),
    ],
)
def test_upload_form_refusals(
    app: App, publisher: str, tmp_path: Path, change: dict[str, list[str]], error: type[Exception], message: str
) -> None:
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0")
    fields = {**_fields(wheel), **change}
    fields = {key: value for key, value in fields.items() if value}
    with pytest.raises(error, match=message):
        _execute(app, publisher, wheel, fields)
    assert list(app.storage.list_keys()) == []


def test_upload_without_content_and_with_bad_sizes(app: App, publisher: str, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0")
    with pytest.raises(ValidationFailed, match="missing file content"):
        app.uploads.execute(
            UploadCommand(tenant_slug="acme", token_secret=publisher, fields=_fields(wheel), content=None)
        )
    empty = tmp_path / "empty" / wheel.name
    empty.parent.mkdir()
    empty.write_bytes(b"")
    with pytest.raises(InvalidDistribution, match="is empty"):
        _execute(app, publisher, empty, _fields(empty))
    big = build_wheel(tmp_path / "big", "demo", "1.0", extra_files={"demo/blob.bin": os.urandom(11 * 1024 * 1024)})
    with pytest.raises(PayloadTooLarge, match="the limit is"):
        _execute(app, publisher, big, _fields(big))


def test_metadata_with_an_invalid_version_is_refused(app: App, publisher: str, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0", metadata_version="not.a.version!")
    with pytest.raises(InvalidDistribution, match="invalid version"):
        _execute(app, publisher, wheel, _fields(wheel))


def test_listeners_hear_accepted_uploads_and_sdists_have_no_separate_metadata(
    app: App, publisher: str, tmp_path: Path
) -> None:
    heard: list[UploadResult] = []
    app.uploads.add_listener(heard.append)
    sdist = build_sdist(tmp_path / "dist", "demo", "1.0")
    result = _execute(app, publisher, sdist, _fields(sdist, filetype=["sdist"]))
    assert heard == [result]
    listing = app.index.listing("acme", publisher)
    assert [project.normalized_name for project in listing.projects] == ["demo"]
    with pytest.raises(NotFound, match="no separate core metadata"):
        app.index.core_metadata("acme", publisher, "demo", sdist.name, version="1.0")
    with pytest.raises(NotFound, match="does not exist in project 'other'"):
        app.index.download("acme", publisher, "other", sdist.name, version="1.0")


def test_an_upload_takes_a_mirrored_project_over(app: App, publisher: str, tmp_path: Path) -> None:
    tenant = app.tenants.get("acme")
    now = SystemClock().now()
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0")
    key = mirrored_blob_key_for(tenant.id, "demo", wheel.name)
    upstream = ReleaseFile(
        tenant.id,
        "Demo",
        "demo",
        "1.0",
        wheel.name,
        DistributionKind.WHEEL,
        "0" * 64,
        5,
        key,
        now,
        "mirror",
        origin=ProjectOrigin.MIRROR,
        upstream_url="https://up.example/demo.whl",
        cached=True,
    )
    project = Project(tenant.id, "Demo", "demo", now, origin=ProjectOrigin.MIRROR, mirrored_at=now)
    app.store.mirror.record_mirrored_project(project, [Release(tenant.id, "demo", "1.0", now)], [upstream])
    app.storage.put_bytes(key, b"cached upstream bytes")
    app.storage.put_bytes(metadata_key_for(key), b"Name: demo")

    result = _execute(app, publisher, wheel, _fields(wheel))
    assert (result.new_project, result.new_release) == (True, True)
    assert app.storage.stat(key) is None and app.storage.stat(metadata_key_for(key)) is None
    files = app.store.catalogue.list_files(tenant.id, "demo")
    assert [(file.origin, file.sha256) for file in files] == [("local", result.sha256)]
    upload = app.store.audit_log.list_audit_events(AuditQuery(action="package.upload")).items[0]
    assert upload.details["replaced_mirrored_files"] == "1"


class _FailingCatalogue(MemoryCatalogue):
    """A real in-memory catalogue whose metadata commit fails, as a full disk or a lost database would."""

    def add_release_file(self, *args: object, **kwargs: object) -> list[ReleaseFile]:
        raise OSError("disk full")


def _failing_backend() -> MetadataBackend:
    state = MemoryState()
    return replace(memory_backend(state), catalogue=_FailingCatalogue(state))


class _SecondWriteFails(OpenDalStorage):
    """Real filesystem storage whose second write fails: the distribution is stored, its metadata is not."""

    writes = 0

    def _count(self) -> None:
        self.writes += 1
        if self.writes == 2:
            raise OSError("disk full")

    def put_file(self, key: str, source: Path) -> None:
        self._count()
        super().put_file(key, source)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._count()
        super().put_bytes(key, data)


@pytest.mark.parametrize(
    ("store", "storage"),
    [(_failing_backend, OpenDalStorage), (memory_backend, _SecondWriteFails)],
    ids=["commit fails", "metadata write fails"],
)
def test_a_failed_upload_leaves_no_blob_and_no_record(
    tmp_path: Path, store: Callable[[], MetadataBackend], storage: type[OpenDalStorage]
) -> None:
    app = App(tmp_path, store=store(), storage=storage.filesystem(tmp_path / "blobs"))
    app.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    secret = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="t").secret
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0")
    with pytest.raises(OSError, match="disk full"):
        _execute(app, secret, wheel, _fields(wheel))
    assert list(app.storage.list_keys()) == []
    stored = [path for path in (tmp_path / "blobs").rglob("*") if path.is_file() and path.suffix != ".lock"]
    assert stored == []
    assert app.store.catalogue.list_files(app.tenants.get("acme").id, "demo") == []


def test_upload_refuses_a_known_filename_before_reading_the_file(app: App, tmp_path: Path) -> None:
    secret = app.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="t").secret
    wheel = build_wheel(tmp_path / "dist", "demo", "1.0")
    app.upload("acme", secret, wheel, "demo", "1.0")
    blobs = sorted(app.storage.list_keys())
    events = app.store.audit_log.list_audit_events(AuditQuery()).total
    impostor = tmp_path / "impostor" / wheel.name
    impostor.parent.mkdir()
    impostor.write_bytes(b"not a zip archive at all")
    message = (
        "File already exists: 'demo-1.0-py3-none-any.whl' was uploaded to tenant 'acme' before. "
        "Files are immutable: upload a new version, or skip existing files with uv publish --check-url, "
        "poetry publish --skip-existing, pdm publish --skip-existing or hatch publish."
    )
    for again in (wheel, impostor):
        with pytest.raises(AlreadyExists) as refused:
            app.upload("acme", secret, again, "demo", "1.0")
        assert refused.value.message == message
    assert sorted(app.storage.list_keys()) == blobs
    assert app.store.audit_log.list_audit_events(AuditQuery()).total == events
