"""Claim matching and validation of trusted publishers (GitHub and GitLab claim names)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.publishers import (
    PublisherProvider,
    TrustedPublisher,
    claim_details,
    descriptor_claims,
    validate_publisher_fields,
)

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"


def publisher(provider: str, repository: str, workflow: str, environment: str | None = None) -> TrustedPublisher:
    kind, repository, workflow, environment = validate_publisher_fields(provider, repository, workflow, environment)
    return TrustedPublisher(
        id="p1",
        tenant_id="t1",
        project="acme-tools",
        provider=kind,
        issuer=GITHUB_ISSUER if kind is PublisherProvider.GITHUB else GITLAB_ISSUER,
        repository=repository,
        workflow=workflow,
        environment=environment,
        created_at=datetime.now(UTC),
        created_by="test",
    )


GITHUB = {
    "iss": GITHUB_ISSUER,
    "repository": "Acme/Tools",
    "repository_owner": "acme",
    "job_workflow_ref": "acme/tools/.github/workflows/release.yml@refs/heads/main",
    "environment": "PyPI",
}
GITLAB = {
    "iss": GITLAB_ISSUER,
    "project_path": "group/sub/project",
    "ci_config_ref_uri": "gitlab.com/group/sub/project//.gitlab-ci.yml@refs/heads/main",
    "environment": "release",
}


def test_github_claims_match_case_insensitively() -> None:
    assert publisher("github", "acme/tools", "release.yml", "pypi").mismatch(GITHUB_ISSUER, GITHUB) is None


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"repository": "acme/other"}, "repository"),
        ({"repository_owner": "mallory"}, "repository_owner"),
        ({"job_workflow_ref": "acme/tools/.github/workflows/other.yml@refs/heads/main"}, "job_workflow_ref"),
        ({"job_workflow_ref": "acme/tools/.github/workflows/release.yml.evil@x"}, "job_workflow_ref"),
        ({"environment": "staging"}, "environment"),
    ],
)
def test_github_mismatch_names_the_claim(override: dict[str, str], reason: str) -> None:
    assert (
        publisher("github", "acme/tools", "release.yml", "pypi").mismatch(GITHUB_ISSUER, {**GITHUB, **override})
        == reason
    )


def test_github_workflow_ref_is_accepted_when_job_workflow_ref_is_absent() -> None:
    claims = {k: v for k, v in GITHUB.items() if k != "job_workflow_ref"}
    claims["workflow_ref"] = "acme/tools/.github/workflows/release.yml@refs/tags/v1"
    assert publisher("github", "acme/tools", "release.yml").mismatch(GITHUB_ISSUER, claims) is None


def test_gitlab_claims() -> None:
    trusted = publisher("gitlab", "group/sub/project", ".gitlab-ci.yml", "release")
    assert trusted.provider is PublisherProvider.GITLAB
    assert trusted.mismatch(GITLAB_ISSUER, GITLAB) is None
    assert trusted.mismatch(GITLAB_ISSUER, {**GITLAB, "project_path": "group/other"}) == "project_path"
    other_config = {**GITLAB, "ci_config_ref_uri": "gitlab.com/group/sub/project//ci/other.yml@refs/heads/main"}
    assert trusted.mismatch(GITLAB_ISSUER, other_config) == "ci_config_ref_uri"
    assert trusted.mismatch(GITLAB_ISSUER, {**GITLAB, "environment": "Release"}) == "environment"
    assert trusted.matched_claims(GITLAB)["project_path"] == "group/sub/project"


def test_a_publisher_matches_only_tokens_of_its_issuer() -> None:
    trusted = publisher("gitlab", "group/sub/project", ".gitlab-ci.yml", "release")
    elsewhere = "https://gitlab.example.test"
    same_path_elsewhere = {
        **GITLAB,
        "iss": elsewhere,
        "ci_config_ref_uri": "gitlab.example.test/group/sub/project//.gitlab-ci.yml@refs/heads/main",
    }
    assert trusted.mismatch(elsewhere, same_path_elsewhere) == "iss"
    assert trusted.mismatch(GITLAB_ISSUER, {**GITLAB, "iss": elsewhere}) == "iss"
    assert replace(trusted, issuer="").mismatch(GITLAB_ISSUER, GITLAB) == "iss"
    github = publisher("github", "acme/tools", "release.yml", "pypi")
    assert github.mismatch("https://ghe.example.test/_services/token", {**GITHUB, "iss": "x"}) == "iss"


def test_gitlab_config_uri_must_name_the_issuers_instance() -> None:
    trusted = publisher("gitlab", "group/sub/project", ".gitlab-ci.yml", "release")
    other_host = {**GITLAB, "ci_config_ref_uri": "evil.test/group/sub/project//.gitlab-ci.yml@refs/heads/main"}
    assert trusted.mismatch(GITLAB_ISSUER, other_host) == "ci_config_ref_uri"
    relative_root = replace(trusted, issuer="https://git.example.test/gitlab/")
    claims = {
        **GITLAB,
        "iss": relative_root.issuer,
        "ci_config_ref_uri": "git.example.test/gitlab/group/sub/project//.gitlab-ci.yml@refs/tags/v1",
    }
    assert relative_root.mismatch(relative_root.issuer, claims) is None


@pytest.mark.parametrize(
    ("provider", "repository", "workflow", "message"),
    [
        ("bitbucket", "a/b", "x.yml", "not github or gitlab"),
        ("github", "acme", "release.yml", "owner/name"),
        ("github", "a/b/c", "release.yml", "exactly owner/name"),
        ("github", "acme/tools", ".github/workflows/release.yml", "file name"),
        ("gitlab", "group/project", "/abs.yml", "relative path"),
    ],
)
def test_invalid_publishers_are_refused(provider: str, repository: str, workflow: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        validate_publisher_fields(provider, repository, workflow, None)


def test_claims_kept_with_a_minted_token_round_trip_through_its_descriptor() -> None:
    trusted = publisher("github", "acme/tools", "release.yml", "pypi")
    claims = trusted.matched_claims({**GITHUB, "sha": "abc123", "ref": "refs/tags/v1", "actor": "someone", "x": 1})
    assert claims["iss"] == GITHUB_ISSUER and claims["sha"] == "abc123" and "actor" not in claims
    described = json.dumps(trusted.descriptor(claims))
    assert descriptor_claims(described) == claims
    assert claim_details(descriptor_claims(described))["claim.ref"] == "refs/tags/v1"


@pytest.mark.parametrize("described", [None, "", "not json", "[1]", '{"kind": "GitHub"}', '{"claims": [1]}'])
def test_a_descriptor_without_claims_has_none(described: str | None) -> None:
    assert descriptor_claims(described) == {}
