"""Roles from an identity provider's groups, the PKCE challenge, and the sign-in checks that need no browser."""

from __future__ import annotations

import pytest

from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import AuditQuery
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.oidc_sign_in import (
    OidcSignIn,
    PendingSignIn,
    ProviderIdentity,
    SignInRefused,
    code_challenge,
)
from pyregistry_domain.group_roles import GroupRole, roles_from_groups
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import new_tenant
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.system import RandomIds, SystemClock

MAPPING = [
    GroupRole(group="devs", tenant="acme", role=TenantRole.MAINTAINER),
    GroupRole(group="leads", tenant="acme", role=TenantRole.ADMIN),
    GroupRole(group="audit", tenant="acme", role=TenantRole.AUDITOR),
    GroupRole(group="devs", tenant="gone", role=TenantRole.ADMIN),
]


def test_groups_give_the_strongest_mapped_role_per_tenant() -> None:
    tenants = {"acme": "t-acme", "globex": "t-globex"}
    assert roles_from_groups(["audit", "devs"], MAPPING, tenants) == {"t-acme": TenantRole.MAINTAINER}
    assert roles_from_groups(["leads", "audit"], MAPPING, tenants) == {"t-acme": TenantRole.ADMIN}
    assert roles_from_groups(["kitchen"], MAPPING, tenants) == {}
    assert roles_from_groups([], MAPPING, tenants) == {}


def test_pkce_challenge_matches_rfc_7636() -> None:
    assert (
        code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


class ScriptedProvider:
    """An identity provider that answers every code with the identity the test sets."""

    name = "corp"
    display_name = "Corp"

    def __init__(self) -> None:
        self.identity = ProviderIdentity(subject="s1", email="amy@corp.test", groups=["devs"], nonce="nonce-1")

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, code_challenge: str) -> str:
        return f"https://sso.example/authorize?state={state}&nonce={nonce}&code_challenge={code_challenge}"

    def redeem(self, *, code: str, code_verifier: str, redirect_uri: str) -> ProviderIdentity:
        return self.identity


@pytest.fixture
def world() -> tuple[OidcSignIn, ScriptedProvider, MetadataBackend]:
    store = memory_backend()
    clock = SystemClock()
    store.tenants.add_tenant(new_tenant("t-acme", "acme", "Acme", False, clock.now()))
    provider = ScriptedProvider()
    audit = AuditTrail(store.audit_log, clock, RandomIds())
    return (
        OidcSignIn([provider], {"corp": MAPPING}, store.tenants, store.users, clock, RandomIds(), audit),
        provider,
        store,
    )


PENDING = PendingSignIn(provider="corp", state="state-1", nonce="nonce-1", verifier="v" * 64, next="/admin/dashboard")


def _complete(sign_in: OidcSignIn, pending: PendingSignIn | None = PENDING, state: str = "state-1") -> User:
    return sign_in.complete(
        "corp", pending, state=state, code="c", error="", redirect_uri="http://x/cb", source_ip="127.0.0.1"
    )


def test_begin_sends_state_nonce_and_the_challenge_of_the_kept_verifier(
    world: tuple[OidcSignIn, ScriptedProvider, MetadataBackend],
) -> None:
    sign_in, _, _ = world
    url, pending = sign_in.begin("corp", "http://x/cb", "/admin/t/acme/packages")
    assert url == (
        f"https://sso.example/authorize?state={pending.state}&nonce={pending.nonce}"
        f"&code_challenge={code_challenge(pending.verifier)}"
    )
    assert len({pending.state, pending.nonce, pending.verifier}) == 3 and pending.next == "/admin/t/acme/packages"
    with pytest.raises(SignInRefused) as unknown:
        sign_in.begin("other", "http://x/cb", "/admin/dashboard")
    assert unknown.value.message == "no sign-in provider is called 'other'"


def test_roles_follow_the_groups_at_every_sign_in(
    world: tuple[OidcSignIn, ScriptedProvider, MetadataBackend],
) -> None:
    sign_in, provider, store = world
    user = _complete(sign_in)
    assert dict(user.roles) == {"t-acme": TenantRole.MAINTAINER} and not user.is_superadmin
    provider.identity = ProviderIdentity(subject="s1", email="amy@corp.test", groups=[], nonce="nonce-1")
    with pytest.raises(SignInRefused) as refused:
        _complete(sign_in)
    assert refused.value.message == "sign-in refused: you are in no group that maps to a tenant role"
    stored = store.users.get_user_by_email("amy@corp.test")
    assert stored is not None and dict(stored.roles) == {}
    actions = [event.action for event in store.audit_log.list_audit_events(AuditQuery(limit=10)).items]
    assert actions == ["admin.login.refused", "role.revoke", "admin.login.oidc", "role.grant"]


@pytest.mark.parametrize(
    ("identity", "reason"),
    [
        (ProviderIdentity(subject="s1", email="amy@corp.test", groups=["devs"], nonce="other"), "the ID token's nonce "
         "does not match this sign-in"),
        (ProviderIdentity(subject="s1", email="amy@corp.test", groups=["devs"], nonce=None), "the ID token's nonce "
         "does not match this sign-in"),
        (ProviderIdentity(subject="s1", email=None, groups=["devs"], nonce="nonce-1"), "the ID token has no email "
         "claim"),
    ],
)  # fmt: skip
def test_identity_checks_refuse_and_store_no_account(
    world: tuple[OidcSignIn, ScriptedProvider, MetadataBackend], identity: ProviderIdentity, reason: str
) -> None:
    sign_in, provider, store = world
    provider.identity = identity
    with pytest.raises(SignInRefused) as refused:
        _complete(sign_in)
    assert refused.value.message == f"sign-in refused: {reason}"
    assert store.users.get_user_by_email("amy@corp.test") is None


def test_callback_checks_refuse_before_the_code_is_redeemed(
    world: tuple[OidcSignIn, ScriptedProvider, MetadataBackend],
) -> None:
    sign_in, _, _ = world
    with pytest.raises(SignInRefused, match="no sign-in with this provider was started in this browser"):
        _complete(sign_in, pending=None)
    with pytest.raises(SignInRefused, match="the state does not match the sign-in this browser started"):
        _complete(sign_in, state="")
    with pytest.raises(SignInRefused, match="the provider answered 'access_denied'"):
        sign_in.complete(
            "corp", PENDING, state="state-1", code="", error="access_denied", redirect_uri="x", source_ip=None
        )


def test_the_superadmin_needs_no_mapped_group(world: tuple[OidcSignIn, ScriptedProvider, MetadataBackend]) -> None:
    sign_in, provider, store = world
    root = User(
        id="root", email="root@corp.test", password_hash="h", is_superadmin=True, created_at=SystemClock().now()
    )
    store.users.add_user(root)
    provider.identity = ProviderIdentity(subject="s9", email="root@corp.test", groups=[], nonce="nonce-1")
    assert _complete(sign_in) == root
