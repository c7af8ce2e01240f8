"""The upload use case's steps on their own: the form, the file against the form, sizes, digests, metadata, the
records an accepted file commits, and where its blobs live."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from pyregistry_application.blob_keys import (
    blob_key_for,
    metadata_key_for,
    mirrored_blob_key_for,
    provenance_key_for,
)
from pyregistry_application.dto import DistributionMetadata, SpooledUpload
from pyregistry_application.upload_form import (
    UploadForm,
    check_digests,
    check_file_matches_form,
    check_file_size,
    check_metadata_matches,
    read_upload_form,
)
from pyregistry_application.uploads import Acceptance, UploadTarget, upload_records
from pyregistry_domain.distributions import DistributionKind, parse_distribution_filename
from pyregistry_domain.errors import InvalidDistribution, PayloadTooLarge, ValidationFailed
from pyregistry_domain.projects import Project, ProjectOrigin
from pyregistry_domain.tenants import Tenant

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TENANT = Tenant("t1", "acme", "Acme", False, NOW)
WHEEL = "demo_pkg-1.0-py3-none-any.whl"
BODY = b"wheel bytes"


def _content(filename: str = WHEEL, body: bytes = BODY) -> SpooledUpload:
    return SpooledUpload(
        path="/nonexistent",
        filename=filename,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        md5=hashlib.md5(body).hexdigest(),
        blake2_256=hashlib.blake2b(body, digest_size=32).hexdigest(),
    )


def _fields(**values: str) -> dict[str, list[str]]:
    fields = {":action": "file_upload", "name": "Demo.Pkg", "version": "1.0"} | values
    return {key: [value] for key, value in fields.items()}


def test_the_form_names_a_normalized_project_and_a_canonical_version() -> None:
    assert read_upload_form(_fields(version="1.0.0")) == UploadForm("Demo.Pkg", "demo-pkg", "1.0.0")
    with pytest.raises(ValidationFailed, match="unsupported :action 'remove_pkg'"):
        read_upload_form(_fields(**{":action": "remove_pkg"}))
    with pytest.raises(ValidationFailed, match="missing required form field 'version'"):
        read_upload_form({":action": ["file_upload"], "name": ["demo"]})
    with pytest.raises(ValidationFailed, match="more than once with different values"):
        read_upload_form(_fields() | {"name": ["demo", "other"]})


def test_the_file_must_match_the_form() -> None:
    form = read_upload_form(_fields())
    content, parsed = check_file_matches_form(form, _fields(filetype="bdist_wheel"), _content())
    assert (content.filename, parsed.kind) == (WHEEL, DistributionKind.WHEEL)
    with pytest.raises(ValidationFailed, match="needs a 'content' file part"):
        check_file_matches_form(form, _fields(), None)
    with pytest.raises(ValidationFailed, match="is for project 'other'"):
        check_file_matches_form(form, _fields(), _content("other-1.0-py3-none-any.whl"))
    with pytest.raises(ValidationFailed, match=r"is for version 2\.0"):
        check_file_matches_form(form, _fields(), _content("demo_pkg-2.0-py3-none-any.whl"))
    with pytest.raises(ValidationFailed, match="filetype 'sdist' does not match"):
        check_file_matches_form(form, _fields(filetype="sdist"), _content())


def test_sizes_and_digests() -> None:
    check_file_size(_content(), len(BODY))
    with pytest.raises(PayloadTooLarge, match=f"the limit is {len(BODY) - 1} bytes"):
        check_file_size(_content(), len(BODY) - 1)
    with pytest.raises(InvalidDistribution, match="is empty"):
        check_file_size(_content(body=b""), 10)
    check_digests(_fields(sha256_digest=hashlib.sha256(BODY).hexdigest().upper()), _content())
    with pytest.raises(ValidationFailed, match="missing digest"):
        check_digests(_fields(), _content())
    with pytest.raises(ValidationFailed, match="md5_digest does not match"):
        check_digests(_fields(md5_digest="0" * 32), _content())
    with pytest.raises(ValidationFailed, match="not a hexadecimal digest"):
        check_digests(_fields(sha256_digest="xyz"), _content())


def test_the_metadata_must_name_the_file_project_and_version() -> None:
    metadata = DistributionMetadata(name="demo.pkg", version="1.0", metadata_version="2.1", raw=b"")
    check_metadata_matches(metadata, "demo-pkg", "1.0", WHEEL)
    with pytest.raises(InvalidDistribution, match=r"metadata for project 'demo\.pkg', not 'other'"):
        check_metadata_matches(metadata, "other", "1.0", WHEEL)
    with pytest.raises(InvalidDistribution, match=r"metadata for version 1\.0, not 2\.0"):
        check_metadata_matches(metadata, "demo-pkg", "2.0", WHEEL)


def _records(target: UploadTarget, version: str = "1.0") -> tuple[Project, str | None, str | None]:
    filename = f"demo_pkg-{version}-py3-none-any.whl"
    metadata = DistributionMetadata(
        name="Demo-Pkg", version=version, metadata_version="2.1", raw=b"Name: Demo-Pkg", summary=f"v{version}"
    )
    how = Acceptance(
        uploader="token:ci", uploaded_at=NOW, requires_python=">=3.9", source_ip=None, action="a", details={}
    )
    records = upload_records(
        TENANT,
        _content(filename),
        parse_distribution_filename(filename),
        metadata,
        target,
        how,
        blob_key="t1/demo-pkg/u1/" + filename,
        has_provenance=False,
    )
    assert records.release.version == records.file.version == version
    assert records.file.is_local and records.project.is_local
    return records.project, records.project.summary, records.file.metadata_sha256


def test_records_keep_the_first_name_and_summarize_by_the_newest_version() -> None:
    project, summary, metadata_sha256 = _records(UploadTarget(project=None, known_versions=set()))
    assert (project.name, project.created_at, summary) == ("Demo-Pkg", NOW, "v1.0")
    assert metadata_sha256 == hashlib.sha256(b"Name: Demo-Pkg").hexdigest()
    earlier = datetime(2025, 1, 1, tzinfo=UTC)
    existing = Project("t1", "demo.pkg", "demo-pkg", earlier, summary="v2.0")
    project, summary, _ = _records(UploadTarget(project=existing, known_versions={"2.0"}), "1.5")
    assert (project.name, project.created_at, summary) == ("demo.pkg", earlier, None)
    _, summary, _ = _records(UploadTarget(project=existing, known_versions={"2.0"}), "3.0")
    assert summary == "v3.0"
    assert existing.is_taken_over_by(ProjectOrigin.LOCAL) is False


def test_blob_keys() -> None:
    key = blob_key_for("t1", "demo", "u1", WHEEL)
    assert key == f"t1/demo/u1/{WHEEL}"
    assert (metadata_key_for(key), provenance_key_for(key)) == (f"{key}.metadata", f"{key}.provenance")
    assert mirrored_blob_key_for("t1", "demo", WHEEL) == f"t1/demo/mirror/{WHEEL}"
