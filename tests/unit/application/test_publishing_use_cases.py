"""Trusted publishing driven directly: publishers per project, and exchanging CI identity tokens for upload tokens.

Identity tokens come from a fake verifier that knows a fixed set of already-verified identities (signature checks
are the OIDC adapter's job, tested against a real JWKS server elsewhere); everything else is the in-memory store.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.publishing import MINTED_TOKEN_LIFETIME, TrustedPublishing
from pyregistry_application.publishing_ports import VerifiedIdentity
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.errors import AlreadyExists, Forbidden, InvalidName, InvalidToken, NotFound, ValidationFailed
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_domain.tokens import TokenScope
from pyregistry_infrastructure.metadata_stores.memory_publishers import MemoryJtiReplayStore, MemoryPublisherStore
from tests.unit.application.test_admin_use_cases import SteppingClock
from tests.unit.application.test_application_without_web import App
from tests.unit.domain.test_publisher_matching import GITHUB

ISSUER = "https://token.actions.githubusercontent.com"


class FakeVerifier:
    """An ``IdentityTokenVerifier`` that accepts exactly the tokens in ``identities``."""

    def __init__(self) -> None:
        self.identities: dict[str, VerifiedIdentity] = {}

    def audience(self) -> str:
        return "pyregistry-test"

    def issuers(self, provider: PublisherProvider) -> list[str]:
        return [ISSUER]

    def verify(self, token: str) -> VerifiedIdentity:
        try:
            return self.identities[token]
        except KeyError:
            raise InvalidToken("signature verification failed") from None


class Publishing:
    """Tenants ``acme`` and ``globex`` and the trusted-publishing use cases over in-memory stores."""

    def __init__(self, root: Path) -> None:
        self.clock = SteppingClock()
        self.app = App(root, self.clock)
        for slug in ("acme", "globex"):
            self.app.tenants.create_tenant(
                slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
            )
        self.publishers = MemoryPublisherStore()
        self.verifier = FakeVerifier()
        self.use_cases = TrustedPublishing(
            self.app.store.tenants,
            self.publishers,
            MemoryJtiReplayStore(),
            self.verifier,
            self.app.tokens,
            self.app.audit,
            self.clock,
            self.app.ids,
        )

    def add(
        self,
        tenant: str = "acme",
        *,
        project: str = "Acme_Tools",
        provider: str = "GitHub",
        repository: str = "/Acme/Tools/",
        workflow: str = "release.yml",
        environment: str | None = "pypi",
        source_ip: str | None = None,
    ) -> TrustedPublisher:
        return self.use_cases.add_publisher(
            tenant_slug=tenant,
            project=project,
            provider=provider,
            repository=repository,
            workflow=workflow,
            environment=environment,
            actor=f"boss@{tenant}.test",
            source_ip=source_ip,
        )

    def identity_token(self, jti: str, claims: dict[str, object] | None = None) -> str:
        """Register a verified identity and return the token string a CI job would present."""
        token = f"jwt-{jti}"
        self.verifier.identities[token] = VerifiedIdentity(
            provider=PublisherProvider.GITHUB,
            issuer=ISSUER,
            jti=jti,
            expires_at=self.clock.now() + timedelta(minutes=5),
            claims=dict(claims or {**GITHUB, "ref": "refs/heads/main", "sha": "abc123"}),
        )
        return token

    def events(self, action: str) -> list[AuditEvent]:
        return self.app.audit.query(AuditQuery(action=action, limit=50)).items


@pytest.fixture
def publishing(tmp_path: Path) -> Publishing:
    return Publishing(tmp_path)


def test_publishers_are_added_listed_and_removed_per_tenant_with_audit(publishing: Publishing) -> None:
    tools = publishing.add(source_ip="10.0.0.5")
    assert (tools.project, tools.repository, tools.workflow, tools.environment) == (
        "acme-tools",
        "Acme/Tools",
        "release.yml",
        "pypi",
    )
    assert tools.provider is PublisherProvider.GITHUB and tools.created_at == publishing.clock.now()
    gitlab = publishing.add(
        project="Aardvark", provider="gitlab", repository="group/aardvark", workflow=".gitlab-ci.yml", environment=None
    )
    with pytest.raises(AlreadyExists):
        publishing.add(project="acme.tools", provider="github", repository="acme/tools")
    assert publishing.use_cases.list_publishers("acme") == [gitlab, tools]
    assert publishing.use_cases.list_publishers("acme", "ACME.Tools") == [tools]
    assert publishing.use_cases.list_publishers("globex") == []
    added = publishing.events("publisher.add")
    assert sorted((e.target, e.actor, e.details["publisher_id"]) for e in added) == [
        ("aardvark:gitlab:group/aardvark/.gitlab-ci.yml", "boss@acme.test", gitlab.id),
        ("acme-tools:github:Acme/Tools/release.yml@env:pypi", "boss@acme.test", tools.id),
    ]
    assert {e.source_ip for e in added} == {"10.0.0.5", None}

    with pytest.raises(NotFound, match="does not exist in tenant 'globex'"):
        publishing.use_cases.remove_publisher("globex", tools.id, actor="boss@globex.test")
    publishing.use_cases.remove_publisher("acme", tools.id, actor="boss@acme.test", source_ip="10.0.0.6")
    assert publishing.use_cases.list_publishers("acme") == [gitlab]
    with pytest.raises(NotFound):
        publishing.use_cases.remove_publisher("acme", tools.id, actor="boss@acme.test")
    [removed] = publishing.events("publisher.remove")
    assert (removed.target, removed.source_ip) == (f"publisher:{tools.id}", "10.0.0.6")


@pytest.mark.parametrize(
    ("tenant", "project", "provider", "error", "message"),
    [
        ("nobody", "tools", "github", NotFound, "tenant 'nobody' does not exist"),
        ("acme", "-bad-", "github", InvalidName, "'-bad-' is not valid"),
        ("acme", "tools", "bitbucket", ValidationFailed, "not github or gitlab"),
    ],
)
def test_bad_publishers_are_refused_before_anything_is_stored(
    publishing: Publishing, tenant: str, project: str, provider: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        publishing.add(tenant, project=project, provider=provider)
    assert [publishing.publishers.list_publishers(t.id) for t in publishing.app.store.tenants.list_tenants()] == [
        [],
        [],
    ]
    assert publishing.events("publisher.add") == []
    with pytest.raises(NotFound):
        publishing.use_cases.list_publishers("nobody")


def test_minted_token_publishes_only_its_project_for_fifteen_minutes(publishing: Publishing) -> None:
    publisher = publishing.add()
    assert publishing.use_cases.audience() == "pyregistry-test"
    minted = publishing.use_cases.mint(publishing.identity_token("run-1"), source_ip="192.0.2.1")
    expires = publishing.clock.now() + MINTED_TOKEN_LIFETIME
    assert minted.success and minted.expires == int(expires.timestamp())

    access = publishing.app.access
    tenant, token = access.authorize("acme", minted.token, TokenScope.PUBLISH, "acme-tools")
    assert token.scopes == frozenset({TokenScope.PUBLISH}) and token.project == "acme-tools"
    assert token.name == "oidc github:Acme/Tools/release.yml@env:pypi"
    recorded = json.loads(token.minted_by_publisher or "")
    assert {key: recorded[key] for key in publisher.descriptor()} == publisher.descriptor()
    assert recorded["claims"]["ref"] == "refs/heads/main" and recorded["claims"]["sha"] == "abc123"
    with pytest.raises(Forbidden, match="limited to project 'acme-tools'"):
        access.authorize("acme", minted.token, TokenScope.PUBLISH, "other")
    access.authorize("acme", minted.token, TokenScope.READ, "acme-tools")  # publishing implies reading
    with pytest.raises(Forbidden, match="limited to project 'acme-tools'"):
        access.authorize("acme", minted.token, TokenScope.READ, "other")
    with pytest.raises(Forbidden, match="another tenant"):
        access.authorize("globex", minted.token, TokenScope.PUBLISH, "acme-tools")

    [event] = publishing.events("oidc.mint")
    assert (event.actor, event.target, event.tenant_id, event.source_ip) == (
        "publisher:github:Acme/Tools/release.yml@env:pypi",
        "acme-tools:github:Acme/Tools/release.yml@env:pypi",
        tenant.id,
        "192.0.2.1",
    )
    assert event.details["publisher_id"] == publisher.id and event.details["minted_id"] == token.id
    assert event.details["issuer"] == ISSUER
    assert (event.details["claim.repository"], event.details["claim.sha"]) == ("Acme/Tools", "abc123")
    assert minted.token not in repr(event)

    publishing.clock.advance(MINTED_TOKEN_LIFETIME.total_seconds())
    with pytest.raises(InvalidToken, match="expired"):
        access.authorize("acme", minted.token, TokenScope.PUBLISH, "acme-tools")


def test_an_identity_token_is_exchanged_only_once(publishing: Publishing) -> None:
    publishing.add()
    identity = publishing.identity_token("run-2")
    publishing.use_cases.mint(identity)
    with pytest.raises(InvalidToken, match="replayed token"):
        publishing.use_cases.mint(identity)
    acme = publishing.app.store.tenants.get_tenant_by_slug("acme")
    assert acme is not None
    assert len(publishing.app.store.tokens.list_tokens(acme.id)) == 1
    assert len(publishing.events("oidc.mint")) == 1


def _tokens_issued(publishing: Publishing) -> int:
    return sum(len(publishing.app.store.tokens.list_tokens(t.id)) for t in publishing.app.store.tenants.list_tenants())


def test_mint_needs_exactly_one_matching_publisher(publishing: Publishing) -> None:
    with pytest.raises(InvalidToken, match="signature verification failed"):
        publishing.use_cases.mint("not-a-token-the-verifier-knows")
    with pytest.raises(Forbidden, match=r"no trusted publisher matches the token's claims$"):
        publishing.use_cases.mint(publishing.identity_token("run-3"))
    publishing.add(environment="staging")
    with pytest.raises(Forbidden, match=r"\(claims that differ: environment\)$"):
        publishing.use_cases.mint(publishing.identity_token("run-4"))
    publishing.add(project="acme-other", repository="acme/other", environment=None)
    with pytest.raises(Forbidden, match=r"\(claims that differ: environment, repository\)$"):
        publishing.use_cases.mint(publishing.identity_token("run-5"))
    publishing.add("acme", environment=None)
    publishing.add("globex", environment=None)
    with pytest.raises(Forbidden, match="match 2 trusted publishers; exactly one is required"):
        publishing.use_cases.mint(publishing.identity_token("run-6"))
    assert _tokens_issued(publishing) == 0
    assert publishing.events("oidc.mint") == []


def test_a_publisher_whose_tenant_was_deleted_mints_nothing(publishing: Publishing) -> None:
    publishing.publishers.add_publisher(
        TrustedPublisher(
            id="orphan",
            tenant_id="deleted-tenant",
            project="acme-tools",
            provider=PublisherProvider.GITHUB,
            issuer=ISSUER,
            repository="acme/tools",
            workflow="release.yml",
            environment=None,
            created_at=publishing.clock.now(),
            created_by="boss@acme.test",
        )
    )
    with pytest.raises(NotFound, match="tenant no longer exists"):
        publishing.use_cases.mint(publishing.identity_token("run-7"))
    assert _tokens_issued(publishing) == 0
