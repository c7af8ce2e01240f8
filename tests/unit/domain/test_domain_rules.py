"""Domain invariants by example: names, versions, users, tenants, tokens and distribution filenames."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_domain.distributions import DistributionKind, distribution_identity, parse_distribution_filename
from pyregistry_domain.errors import InvalidFilename, InvalidName, InvalidToken, InvalidVersion, ValidationFailed
from pyregistry_domain.names import is_normalized, validate_project_name, validate_tenant_slug
from pyregistry_domain.roles import Permission, TenantRole, parse_role
from pyregistry_domain.tenants import new_tenant
from pyregistry_domain.tokens import ApiToken, TokenScope, generate_token_secret, parse_scopes, token_lifetime
from pyregistry_domain.users import User, validate_email, validate_password
from pyregistry_domain.versions import canonical_version, parse_version

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_is_normalized() -> None:
    assert is_normalized("demo-pkg")
    assert not is_normalized("Demo_Pkg")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("a" * 300, "longer than"),
        ("d\u0435mo", "non-ASCII"),
        ("\uff44\uff45\uff4d\uff4f", "looks like 'demo'"),
        ("-demo", "is not valid"),
    ],
)
def test_project_names_are_refused_with_a_reason(name: str, message: str) -> None:
    with pytest.raises(InvalidName, match=message):
        validate_project_name(name)


def test_tenant_slugs() -> None:
    assert validate_tenant_slug("acme-corp") == "acme-corp"
    with pytest.raises(InvalidName, match="not valid"):
        validate_tenant_slug("Acme")
    with pytest.raises(InvalidName, match="reserved"):
        validate_tenant_slug("admin")


def test_versions() -> None:
    assert canonical_version("1.0.0-alpha1") == "1.0.0a1"
    assert parse_version("2.0") > parse_version("1.10")
    with pytest.raises(InvalidVersion, match="not a valid PEP 440"):
        parse_version("one")


def test_users() -> None:
    assert validate_email("  Admin@Example.COM ") == "admin@example.com"
    with pytest.raises(ValidationFailed, match="not an email"):
        validate_email("nobody")
    assert validate_password("long enough") == "long enough"
    with pytest.raises(ValidationFailed, match="at least 8"):
        validate_password("short")
    admin = User(
        id="u", email="a@b.c", password_hash="h", is_superadmin=False, created_at=NOW, roles={"t": TenantRole.ADMIN}
    )
    assert admin.can_see("t") and not admin.can_see("x")
    assert admin.tenant_ids == {"t"} and admin.role_in("t") is TenantRole.ADMIN and admin.role_in("x") is None
    assert replace(admin, is_superadmin=True).can_see("x")
    assert replace(admin, is_superadmin=True).may("x", Permission.MANAGE_PEOPLE)


ALLOWED_BY_ROLE = {
    TenantRole.ADMIN: set(Permission),
    TenantRole.MAINTAINER: {
        Permission.VIEW,
        Permission.YANK,
        Permission.MANAGE_TOKENS,
        Permission.MANAGE_PUBLISHERS,
        Permission.REFRESH_MIRROR,
    },
    TenantRole.AUDITOR: {Permission.VIEW},
}


@pytest.mark.parametrize("role", list(TenantRole))
@pytest.mark.parametrize("permission", list(Permission))
def test_role_permission_table_per_tenant(role: TenantRole, permission: Permission) -> None:
    user = User(
        id="u",
        email="a@b.c",
        password_hash="h",
        is_superadmin=False,
        created_at=NOW,
        roles={"t1": role, "t2": TenantRole.AUDITOR},
    )
    assert user.may("t1", permission) is (permission in ALLOWED_BY_ROLE[role])
    assert user.may("t2", permission) is (permission is Permission.VIEW)
    assert user.may("t3", permission) is False


def test_parse_role() -> None:
    assert parse_role(" Maintainer ") is TenantRole.MAINTAINER
    with pytest.raises(ValidationFailed) as refused:
        parse_role("owner")
    assert refused.value.message == "unknown role 'owner': choose one of admin, maintainer, auditor"


def test_tenant_display_names() -> None:
    assert new_tenant("id", "acme", "  Acme  ", False, NOW).display_name == "Acme"
    with pytest.raises(ValidationFailed, match="empty"):
        new_tenant("id", "acme", "   ", False, NOW)
    with pytest.raises(ValidationFailed, match="longer than"):
        new_tenant("id", "acme", "x" * 500, False, NOW)


def test_scopes() -> None:
    assert parse_scopes(["read, publish", ""]) == {TokenScope.READ, TokenScope.PUBLISH}
    with pytest.raises(ValidationFailed, match="unknown token scope 'admin'"):
        parse_scopes(["admin"])
    with pytest.raises(ValidationFailed, match="at least one scope"):
        parse_scopes([" , "])


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [(30, "days", timedelta(days=30)), (3650, "days", timedelta(days=3650)), (520, "weeks", timedelta(weeks=520))],
)
def test_token_lifetimes_up_to_ten_years(amount: int, unit: str, expected: timedelta) -> None:
    assert token_lifetime(amount, unit) == expected


@pytest.mark.parametrize(
    ("amount", "unit"),
    [(0, "days"), (3651, "days"), (522, "weeks"), (99999999999, "days"), (10**30, "seconds"), (-1, "hours")],
)
def test_token_lifetimes_beyond_ten_years_are_refused(amount: int, unit: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        token_lifetime(amount, unit)
    assert refused.value.message == "token lifetime must be more than 0 and at most 3650 days (10 years)"


def test_token_usability() -> None:
    generated = generate_token_secret()
    token = ApiToken(
        id="t1",
        key_id=generated.key_id,
        secret_hash=generated.secret_hash,
        tenant_id="tenant",
        name="ci",
        scopes=frozenset({TokenScope.READ}),
        created_at=NOW,
        created_by="test",
    )
    token.check_usable(generated.secret, NOW)
    assert token.is_active(NOW)
    with pytest.raises(InvalidToken, match="not valid"):
        token.check_usable(generate_token_secret().secret, NOW)
    revoked = token.revoked(NOW)
    assert not revoked.is_active(NOW)
    with pytest.raises(InvalidToken, match="revoked"):
        revoked.check_usable(generated.secret, NOW)
    expiring = replace(token, expires_at=NOW + timedelta(days=1))
    assert expiring.is_active(NOW)
    assert not expiring.is_active(NOW + timedelta(days=2))
    with pytest.raises(InvalidToken, match="expired"):
        expiring.check_usable(generated.secret, NOW + timedelta(days=2))


@pytest.mark.parametrize(
    ("filename", "kind", "name", "version"),
    [
        ("demo_pkg-1.0-py3-none-any.whl", DistributionKind.WHEEL, "demo-pkg", "1.0"),
        ("demo_pkg-1.0.tar.gz", DistributionKind.SDIST, "demo-pkg", "1.0"),
        ("demo_pkg-2.0.zip", DistributionKind.SDIST, "demo-pkg", "2.0"),
    ],
)
def test_distribution_filenames(filename: str, kind: DistributionKind, name: str, version: str) -> None:
    parsed = parse_distribution_filename(filename)
    assert (parsed.kind, parsed.normalized_name, parsed.version) == (kind, name, version)


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("demo-1.0-py3.whl", "invalid wheel filename"),
        ("demo.tar.gz", "invalid sdist filename"),
        ("demo-x.y.zip", "invalid sdist filename"),
        ("../demo-1.0.tar.gz", "not allowed"),
    ],
)
def test_bad_distribution_filenames(filename: str, message: str) -> None:
    with pytest.raises(InvalidFilename, match=message):
        parse_distribution_filename(filename)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("immut-1.0-py3-none-any.whl", "Immut-1.0-py3-none-any.whl", True),
        ("immut-1.0-py3-none-any.whl", "IMMUT-1.0.0-py3-none-any.whl", True),
        ("x-1.0-py2.py3-none-any.whl", "x-1.0-py3.py2-none-any.whl", True),
        ("immut-1.0.tar.gz", "immut-1.0.zip", True),
        ("immut-1.0.tar.gz", "Immut-1.0.0.tar.gz", True),
        ("immut-1.0-py3-none-any.whl", "immut-1.0-1-py3-none-any.whl", False),
        ("immut-1.0-1-py3-none-any.whl", "immut-1.0-2-py3-none-any.whl", False),
        ("immut-1.0-py3-none-any.whl", "immut-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", False),
        ("immut-1.0-py3-none-any.whl", "immut-1.0.tar.gz", False),
        ("immut-1.0.tar.gz", "immut-1.0.post1.tar.gz", False),
        ("immut-1.0.tar.gz", "immut_extra-1.0.tar.gz", False),
    ],
)
def test_distribution_identity_ignores_spelling_only(first: str, second: str, same: bool) -> None:
    assert (distribution_identity(first) == distribution_identity(second)) is same
