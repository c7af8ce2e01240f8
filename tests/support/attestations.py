"""The real PEP 740 attestations in ``shared/attestations/`` (see its SOURCE.txt) and tampered copies of them."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pyregistry_domain.provenance import GITHUB_ACTIONS_ISSUER, GITLAB_COM_ISSUER, PublisherIdentity
from tests.conftest import SHARED_DIR

ATTESTATIONS_DIR = SHARED_DIR / "attestations" if SHARED_DIR is not None else None
SKIP_REASON = "shared/attestations/ (real PEP 740 attestations) is absent"
needs_attestations = pytest.mark.skipif(
    ATTESTATIONS_DIR is None or not (ATTESTATIONS_DIR / "SOURCE.txt").is_file(), reason=SKIP_REASON
)


@dataclass(frozen=True)
class Attested:
    """One distribution with its real attestation and the publisher that signed it."""

    path: Path
    attestation: dict[str, Any]
    publisher: PublisherIdentity

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def _load(filename: str, publisher: PublisherIdentity) -> Attested:
    if ATTESTATIONS_DIR is None or not (ATTESTATIONS_DIR / filename).is_file():
        pytest.skip(SKIP_REASON)
    attestation = json.loads((ATTESTATIONS_DIR / f"{filename}.publish.attestation").read_text())
    return Attested(ATTESTATIONS_DIR / filename, attestation, publisher)


def gitlab_attested() -> Attested:
    """``gitlab_oidc_project-0.0.3.tar.gz``, signed by GitLab ``facutuesca/gitlab-oidc-project`` ``.gitlab-ci.yml``."""
    publisher = PublisherIdentity("GitLab", GITLAB_COM_ISSUER, "facutuesca/gitlab-oidc-project", ".gitlab-ci.yml")
    return _load("gitlab_oidc_project-0.0.3.tar.gz", publisher)


def github_attested() -> Attested:
    """``pypi_attestations-0.0.19.tar.gz``, signed by GitHub ``trailofbits/pypi-attestations`` ``release.yml``."""
    publisher = PublisherIdentity("GitHub", GITHUB_ACTIONS_ISSUER, "trailofbits/pypi-attestations", "release.yml")
    return _load("pypi_attestations-0.0.19.tar.gz", publisher)


def upstream_provenance() -> dict[str, Any]:
    """The PEP 740 provenance object of ``pypi_attestations-0.0.19.tar.gz`` as an index's integrity API serves it."""
    if ATTESTATIONS_DIR is None or not (ATTESTATIONS_DIR / "pypi_attestations-0.0.19.tar.gz.provenance").is_file():
        pytest.skip(SKIP_REASON)
    parsed: dict[str, Any] = json.loads((ATTESTATIONS_DIR / "pypi_attestations-0.0.19.tar.gz.provenance").read_text())
    return parsed


def flipped_signature(attestation: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``attestation`` with one bit of its signature flipped."""
    copy: dict[str, Any] = json.loads(json.dumps(attestation))
    signature = bytearray(base64.b64decode(copy["envelope"]["signature"]))
    signature[len(signature) // 2] ^= 0x01
    copy["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()
    return copy
