"""Trusted publishers: which CI workflow may mint publish tokens for which project, and how claims are matched."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pyregistry_domain.errors import ValidationFailed

__all__ = ["PublisherProvider", "TrustedPublisher", "claim_details", "descriptor_claims", "validate_publisher_fields"]

_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_FILE_RE = re.compile(r"^[A-Za-z0-9_.\-/]+\.ya?ml$")
_ENV_RE = re.compile(r"^[^\s\x00-\x1f]{1,128}$")
MAX_PATH_LENGTH = 200
_GITHUB_CLAIMS = (
    "iss",
    "repository",
    "repository_id",
    "repository_owner",
    "workflow",
    "job_workflow_ref",
    "workflow_ref",
    "environment",
    "ref",
    "sha",
    "run_id",
    "run_attempt",
)
_GITLAB_CLAIMS = (
    "iss",
    "project_path",
    "project_id",
    "ci_config_ref_uri",
    "environment",
    "ref",
    "ref_path",
    "sha",
    "pipeline_id",
    "job_id",
)


class PublisherProvider(StrEnum):
    """The CI systems whose OIDC identity tokens are understood."""

    GITHUB = "github"
    GITLAB = "gitlab"


def validate_publisher_fields(
    provider: str, repository: str, workflow: str, environment: str | None
) -> tuple[PublisherProvider, str, str, str | None]:
    """Normalized ``(provider, repository, workflow, environment)`` or :class:`ValidationFailed`."""
    try:
        kind = PublisherProvider(provider.strip().lower())
    except ValueError:
        raise ValidationFailed(f"provider {provider!r} is not github or gitlab") from None
    repository = repository.strip().strip("/")
    if len(repository) > MAX_PATH_LENGTH:
        raise ValidationFailed(f"repository is longer than {MAX_PATH_LENGTH} characters")
    if not _PATH_RE.match(repository):
        what = "owner/name" if kind is PublisherProvider.GITHUB else "namespace/project path"
        raise ValidationFailed(f"repository {repository!r} is not an {what}")
    if kind is PublisherProvider.GITHUB and repository.count("/") != 1:
        raise ValidationFailed(f"repository {repository!r} must be exactly owner/name")
    workflow = workflow.strip()
    if len(workflow) > MAX_PATH_LENGTH:
        raise ValidationFailed(f"workflow path is longer than {MAX_PATH_LENGTH} characters")
    if kind is PublisherProvider.GITHUB and ("/" in workflow or not _FILE_RE.match(workflow)):
        raise ValidationFailed(f"workflow {workflow!r} must be a file name such as release.yml")
    if kind is PublisherProvider.GITLAB and (workflow.startswith("/") or not _FILE_RE.match(workflow)):
        raise ValidationFailed(f"CI config path {workflow!r} must be a relative path such as .gitlab-ci.yml")
    env = environment.strip() if environment else None
    if env is not None and not _ENV_RE.match(env):
        raise ValidationFailed(f"environment {environment!r} is not a valid environment name")
    return kind, repository, workflow, env or None


def _claim(claims: Mapping[str, object], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


def descriptor_claims(described: str | None) -> dict[str, str]:
    """The identity-token claims kept in a minted token's publisher descriptor (JSON); empty when there are none."""
    try:
        parsed = json.loads(described) if described else None
    except ValueError:
        return {}
    claims = parsed.get("claims") if isinstance(parsed, dict) else None
    if not isinstance(claims, dict):
        return {}
    return {str(name): value for name, value in claims.items() if isinstance(value, str)}


def claim_details(claims: Mapping[str, str]) -> dict[str, str]:
    """Kept claims as audit-entry details: ``claim.<name>`` keys."""
    return {f"claim.{name}": value for name, value in claims.items()}


@dataclass(frozen=True, slots=True)
class TrustedPublisher:
    """A CI workflow allowed to publish one project of one tenant.

    GitHub: ``repository`` is ``owner/name`` and ``workflow`` the file name under ``.github/workflows/``.
    GitLab: ``repository`` is the ``namespace/project`` path and ``workflow`` the CI config path.
    ``issuer`` is the OIDC issuer URL whose tokens it trusts ('' for a publisher registered before issuers were
    recorded, which matches no token): the same path on another GitLab instance is somebody else's project.
    """

    id: str
    tenant_id: str
    project: str
    provider: PublisherProvider
    issuer: str
    repository: str
    workflow: str
    environment: str | None
    created_at: datetime
    created_by: str

    @property
    def identity(self) -> str:
        """Human-readable identity, e.g. ``github:acme/tools/release.yml@env:pypi``."""
        env = f"@env:{self.environment}" if self.environment else ""
        return f"{self.provider.value}:{self.repository}/{self.workflow}{env}"

    def descriptor(self, claims: Mapping[str, str] | None = None) -> dict[str, str | dict[str, str]]:
        """The PEP 740 ``publisher`` object, also kept on minted tokens.

        ``kind`` and the publisher's fields, plus (PEP 740 ``claims``) the identity token's ``claims`` when given.
        """
        described: dict[str, str | dict[str, str]] = {
            "kind": "GitHub" if self.provider is PublisherProvider.GITHUB else "GitLab",
            "repository": self.repository,
            "workflow": self.workflow,
            "publisher_id": self.id,
        }
        if self.environment:
            described["environment"] = self.environment
        if claims:
            described["claims"] = dict(claims)
        return described

    def mismatch(self, issuer: str, claims: Mapping[str, object]) -> str | None:
        """``None`` when a token verified for ``issuer`` matches this publisher, else the first claim that differs."""
        if not self.issuer or issuer != self.issuer or _claim(claims, "iss") != self.issuer:
            return "iss"
        if self.provider is PublisherProvider.GITHUB:
            return self._github_mismatch(claims)
        return self._gitlab_mismatch(claims)

    def matched_claims(self, claims: Mapping[str, object]) -> dict[str, str]:
        """The claims that identify the CI run (issuer, repository, workflow, environment, ref, sha, run ids).

        Kept with the minted token for the audit trail and the provenance.
        """
        names = _GITHUB_CLAIMS if self.provider is PublisherProvider.GITHUB else _GITLAB_CLAIMS
        return {name: value for name in names if (value := _claim(claims, name)) is not None}

    def _environment_mismatch(self, claims: Mapping[str, object], case_sensitive: bool) -> str | None:
        if not self.environment:
            return None
        actual = _claim(claims, "environment") or ""
        expected = self.environment
        if not case_sensitive:
            actual, expected = actual.lower(), expected.lower()
        return None if actual == expected else "environment"

    def _github_mismatch(self, claims: Mapping[str, object]) -> str | None:
        repository = (_claim(claims, "repository") or "").lower()
        if repository != self.repository.lower():
            return "repository"
        owner = self.repository.split("/", 1)[0].lower()
        if (_claim(claims, "repository_owner") or "").lower() != owner:
            return "repository_owner"
        expected = f"{self.repository}/.github/workflows/{self.workflow}@".lower()
        refs = [_claim(claims, "job_workflow_ref"), _claim(claims, "workflow_ref")]
        if not any(ref is not None and ref.lower().startswith(expected) for ref in refs):
            return "job_workflow_ref"
        return self._environment_mismatch(claims, case_sensitive=False)

    def _gitlab_mismatch(self, claims: Mapping[str, object]) -> str | None:
        if (_claim(claims, "project_path") or "").lower() != self.repository.lower():
            return "project_path"
        uri = _claim(claims, "ci_config_ref_uri") or ""
        instance = self.issuer.split("://", 1)[-1].rstrip("/")
        if not uri.lower().startswith(f"{instance}/{self.repository}//{self.workflow}@".lower()):
            return "ci_config_ref_uri"
        return self._environment_mismatch(claims, case_sensitive=True)
