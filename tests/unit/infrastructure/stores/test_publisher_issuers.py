"""Which issuer a publisher trusts: defaulted, required or refused at registration, and recorded at startup for
publishers registered before issuers were (SQLite, wired exactly as the server wires it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pyregistry_bootstrap.wiring import Runtime, build_runtime
from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_infrastructure.settings import OidcIssuerSettings
from tests.support.settings import runtime_settings

GITHUB = "https://token.actions.githubusercontent.com"
GITLABS = ("https://gitlab.com", "https://gitlab.acme.test")


def runtime(root: Path) -> Runtime:
    issuers = [("github", GITHUB), *(("gitlab", issuer) for issuer in GITLABS)]
    configured = [OidcIssuerSettings(provider=p, issuer=i, jwks_url=f"{i}/jwks") for p, i in issuers]
    return build_runtime(runtime_settings(root, oidc_issuers=configured))


@pytest.fixture
def started(tmp_path: Path) -> Runtime:
    started = runtime(tmp_path)
    started.services.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    return started


def add(started: Runtime, provider: str, repository: str, issuer: str | None = None) -> TrustedPublisher:
    publishing = started.services.publishing
    assert publishing is not None
    workflow = "release.yml" if provider == "github" else ".gitlab-ci.yml"
    return publishing.add_publisher(
        tenant_slug="acme",
        project="acme-tools",
        provider=provider,
        repository=repository,
        workflow=workflow,
        issuer=issuer,
        actor="t",
    )


def test_the_single_issuer_of_a_provider_is_the_default(started: Runtime) -> None:
    assert add(started, "github", "acme/tools").issuer == GITHUB
    assert add(started, "gitlab", "acme/tools", f" {GITLABS[1]} ").issuer == GITLABS[1]


@pytest.mark.parametrize(
    ("provider", "issuer", "message"),
    [
        ("gitlab", None, "2 gitlab OIDC issuers are configured; name the issuer"),
        ("gitlab", "https://gitlab.evil.test", "'https://gitlab.evil.test' is not a configured gitlab OIDC issuer"),
        ("github", GITLABS[0], "'https://gitlab.com' is not a configured github OIDC issuer (configured: https://"),
    ],
)
def test_an_ambiguous_or_unknown_issuer_is_refused(
    started: Runtime, provider: str, issuer: str | None, message: str
) -> None:
    with pytest.raises(ValidationFailed, match=message.replace("(", r"\(")):
        add(started, provider, "acme/tools", issuer)


def test_publishers_without_an_issuer_get_the_only_one_at_startup(started: Runtime, tmp_path: Path) -> None:
    store = started.services.metadata
    assert store.name == "sqlite"
    tenant = store.tenants.get_tenant_by_slug("acme")
    assert tenant is not None
    legacy = store.publishers
    for pid, provider in (("old-github", PublisherProvider.GITHUB), ("old-gitlab", PublisherProvider.GITLAB)):
        legacy.add_publisher(
            TrustedPublisher(
                id=pid,
                tenant_id=tenant.id,
                project="acme-tools",
                provider=provider,
                issuer="",
                repository="acme/tools",
                workflow="release.yml",
                environment=None,
                created_at=datetime.now(UTC),
                created_by="before the upgrade",
            )
        )
    restarted = runtime(tmp_path).services.publishing
    assert restarted is not None
    issuers = {publisher.id: publisher.issuer for publisher in restarted.list_publishers("acme")}
    assert issuers == {"old-github": GITHUB, "old-gitlab": ""}
