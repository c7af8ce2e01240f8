"""Checks of a twine upload's form and file made before anything is read from the archive or stored."""

from __future__ import annotations

import hmac
import re

import msgspec

from pyregistry_application.dto import DistributionMetadata, SpooledUpload
from pyregistry_domain.distributions import DistributionKind, ParsedFilename, parse_distribution_filename
from pyregistry_domain.errors import InvalidDistribution, InvalidName, PayloadTooLarge, ValidationFailed
from pyregistry_domain.names import normalize_project_name, validate_project_name
from pyregistry_domain.versions import canonical_version

__all__ = [
    "UploadForm",
    "check_digests",
    "check_file_matches_form",
    "check_file_size",
    "check_metadata_matches",
    "read_upload_form",
    "single_field",
]

_HEX_DIGEST = re.compile(r"[0-9a-f]{32,128}")
_FILETYPES = {"bdist_wheel": DistributionKind.WHEEL, "sdist": DistributionKind.SDIST}


class UploadForm(msgspec.Struct, frozen=True):
    """What the form says is uploaded: the project (as sent and normalized) and its canonical version."""

    name: str
    normalized_name: str
    version: str


def single_field(fields: dict[str, list[str]], key: str) -> str | None:
    """The one non-empty value of a form field, ``None`` when absent; refused when sent twice differently."""
    values = [value for value in fields.get(key, []) if value != ""]
    if len(values) > 1 and len(set(values)) > 1:
        raise ValidationFailed(f"form field {key!r} was sent more than once with different values")
    return values[0] if values else None


def _required(fields: dict[str, list[str]], key: str) -> str:
    value = single_field(fields, key)
    if value is None:
        raise ValidationFailed(f"missing required form field {key!r}")
    return value


def read_upload_form(fields: dict[str, list[str]]) -> UploadForm:
    """The ``file_upload`` action's project name and version, validated (:class:`ValidationFailed` otherwise)."""
    action = _required(fields, ":action")
    if action != "file_upload":
        raise ValidationFailed(f"unsupported :action {action!r}: only 'file_upload' is accepted")
    name = validate_project_name(_required(fields, "name").strip())
    version = canonical_version(_required(fields, "version").strip())
    return UploadForm(name=name, normalized_name=normalize_project_name(name), version=version)


def check_file_matches_form(
    form: UploadForm, fields: dict[str, list[str]], content: SpooledUpload | None
) -> tuple[SpooledUpload, ParsedFilename]:
    """The uploaded file, present and named for the form's project, version and ``filetype``."""
    if content is None:
        raise ValidationFailed("missing file content: the multipart form needs a 'content' file part")
    parsed = parse_distribution_filename(content.filename)
    if parsed.normalized_name != form.normalized_name:
        raise ValidationFailed(
            f"filename {content.filename!r} is for project {parsed.normalized_name!r}, but the form says {form.name!r}"
        )
    if canonical_version(parsed.version) != form.version:
        raise ValidationFailed(
            f"filename {content.filename!r} is for version {parsed.version}, but the form says {form.version}"
        )
    filetype = single_field(fields, "filetype")
    if filetype is not None and _FILETYPES.get(filetype, parsed.kind) != parsed.kind:
        raise ValidationFailed(f"filetype {filetype!r} does not match {content.filename!r}")
    return content, parsed


def check_file_size(content: SpooledUpload, max_upload_bytes: int) -> None:
    """Refuse an empty file and one over the upload limit."""
    if content.size == 0:
        raise InvalidDistribution(f"{content.filename!r} is empty")
    if content.size > max_upload_bytes:
        raise PayloadTooLarge(f"{content.filename!r} is {content.size} bytes; the limit is {max_upload_bytes} bytes")


def _check_digest(name: str, expected: str | None, actual: str) -> bool:
    if expected is None:
        return False
    expected = expected.strip().lower()
    if not _HEX_DIGEST.fullmatch(expected):
        raise ValidationFailed(f"{name} is not a hexadecimal digest")
    if not hmac.compare_digest(expected.encode(), actual.encode()):
        raise ValidationFailed(f"{name} does not match the uploaded file: the content was altered or truncated")
    return True


def check_digests(fields: dict[str, list[str]], content: SpooledUpload) -> None:
    """Every digest the form sends matches the received bytes, and at least one is sent."""
    checked = [
        _check_digest("sha256_digest", single_field(fields, "sha256_digest"), content.sha256),
        _check_digest("blake2_256_digest", single_field(fields, "blake2_256_digest"), content.blake2_256),
        _check_digest("md5_digest", single_field(fields, "md5_digest"), content.md5),
    ]
    if not any(checked):
        raise ValidationFailed("missing digest: send sha256_digest (twine does this)")


def check_metadata_matches(metadata: DistributionMetadata, normalized: str, version: str, filename: str) -> None:
    """The archive's core metadata names an acceptable project, the one and the version the filename says."""
    try:
        validate_project_name(metadata.name)
    except InvalidName as exc:
        raise InvalidDistribution(f"{filename!r} metadata Name is refused: {exc.message}") from None
    if normalize_project_name(metadata.name) != normalized:
        raise InvalidDistribution(f"{filename!r} contains metadata for project {metadata.name!r}, not {normalized!r}")
    try:
        metadata_version = canonical_version(metadata.version)
    except ValidationFailed:
        raise InvalidDistribution(f"{filename!r} metadata has an invalid version {metadata.version!r}") from None
    if metadata_version != version:
        raise InvalidDistribution(f"{filename!r} contains metadata for version {metadata.version}, not {version}")
