"""Hypothesis properties for name normalization, filename parsing and token verification."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from pyregistry_domain.distributions import DistributionKind, parse_distribution_filename
from pyregistry_domain.errors import Forbidden, InvalidFilename, InvalidName, InvalidToken
from pyregistry_domain.names import normalize_project_name, validate_project_name, validate_tenant_slug
from pyregistry_domain.tokens import ApiToken, TokenScope, generate_token_secret, parse_token_secret

NAME_CHARS = string.ascii_letters + string.digits + "-_."
names = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,30}[A-Za-z0-9])?\Z")
versions = st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9]{1,2})?(\.post[0-9])?(\.dev[0-9])?\Z")


@given(names)
def test_normalization_matches_packaging_and_is_idempotent(name: str) -> None:
    normalized = normalize_project_name(name)
    assert normalized == canonicalize_name(name)
    assert normalize_project_name(normalized) == normalized
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", normalized)
    assert validate_project_name(name) == name


@given(st.text(min_size=1, max_size=40).filter(lambda text: not text.isascii()))
def test_non_ascii_project_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidName):
        validate_project_name(name)


def test_confusable_name_error_names_the_lookalike() -> None:
    with pytest.raises(InvalidName, match="looks like 'requests'"):
        validate_project_name("\uff52equests")


@given(st.text(max_size=70))
def test_tenant_slug_rules(slug: str) -> None:
    valid = re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", slug) is not None and slug not in {
        "admin",
        "api",
        "static",
        "simple",
        "files",
        "t",
    }
    if valid:
        assert validate_tenant_slug(slug) == slug
    else:
        with pytest.raises(InvalidName):
            validate_tenant_slug(slug)


@given(names, versions)
def test_wheel_filename_round_trip(name: str, version: str) -> None:
    filename = f"{canonicalize_name(name).replace('-', '_')}-{version}-py3-none-any.whl"
    parsed = parse_distribution_filename(filename)
    assert parsed.kind is DistributionKind.WHEEL
    assert parsed.normalized_name == canonicalize_name(name)


@given(names, versions)
def test_sdist_filename_round_trip(name: str, version: str) -> None:
    filename = f"{re.sub(r'[-.]+', '_', name).lower()}-{version}.tar.gz"
    parsed = parse_distribution_filename(filename)
    assert parsed.kind is DistributionKind.SDIST
    assert parsed.normalized_name == canonicalize_name(name)


@given(st.text(max_size=300))
def test_filename_parser_never_crashes(filename: str) -> None:
    try:
        parsed = parse_distribution_filename(filename)
    except InvalidFilename:
        return
    assert parsed.filename == filename
    assert "/" not in filename and "\\" not in filename


def _token(secret_hash: str, key_id: str, **overrides: object) -> ApiToken:
    values: dict[str, object] = {
        "id": "t1",
        "key_id": key_id,
        "secret_hash": secret_hash,
        "tenant_id": "tenant-a",
        "name": "ci",
        "scopes": frozenset({TokenScope.READ}),
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "created_by": "test",
    }
    values.update(overrides)
    return ApiToken(**values)  # type: ignore[arg-type]


@given(st.text(max_size=100))
def test_only_the_issued_secret_verifies(other: str) -> None:
    generated = generate_token_secret()
    assert generated.secret.startswith("pyr_")
    assert parse_token_secret(generated.secret) == generated.key_id
    token = _token(generated.secret_hash, generated.key_id)
    assert token.matches(generated.secret)
    if other != generated.secret:
        assert not token.matches(other)
    assert generated.secret not in repr(token)


def test_token_lifecycle_checks() -> None:
    generated = generate_token_secret()
    now = datetime(2026, 6, 1, tzinfo=UTC)
    token = _token(generated.secret_hash, generated.key_id, expires_at=now + timedelta(hours=1))
    token.check_usable(generated.secret, now)
    with pytest.raises(InvalidToken, match="expired"):
        token.check_usable(generated.secret, now + timedelta(hours=2))
    with pytest.raises(InvalidToken, match="revoked"):
        token.revoked(now).check_usable(generated.secret, now)
    with pytest.raises(Forbidden, match="publish"):
        token.check_allows(TokenScope.PUBLISH, "tenant-a")
    with pytest.raises(Forbidden, match="another tenant"):
        token.check_allows(TokenScope.READ, "tenant-b")
    scoped = _token(generated.secret_hash, generated.key_id, project="only-this")
    scoped.check_allows(TokenScope.READ, "tenant-a", "only-this")
    with pytest.raises(Forbidden, match="limited to project"):
        scoped.check_allows(TokenScope.READ, "tenant-a", "other")


def test_a_publish_token_may_read_within_its_tenant_and_project() -> None:
    generated = generate_token_secret()
    publisher = _token(generated.secret_hash, generated.key_id, scopes=frozenset({TokenScope.PUBLISH}), project="app")
    assert publisher.grants(TokenScope.READ) and publisher.grants(TokenScope.PUBLISH)
    publisher.check_allows(TokenScope.READ, "tenant-a", "app")
    with pytest.raises(Forbidden, match="limited to project 'app'"):
        publisher.check_allows(TokenScope.READ, "tenant-a", "other")
    with pytest.raises(Forbidden, match="another tenant"):
        publisher.check_allows(TokenScope.READ, "tenant-b", "app")
    reader = _token(generated.secret_hash, generated.key_id)
    assert not reader.grants(TokenScope.PUBLISH)


def test_garbled_tokens_are_not_valid_and_only_foreign_strings_hear_of_the_prefix() -> None:
    secret = generate_token_secret().secret
    for garbled in (secret[:-44], secret + " ", secret + "\n", secret[:20] + "!" + secret[21:]):
        with pytest.raises(InvalidToken, match=r"^not a valid token: it is cut short or altered; copy the whole"):
            parse_token_secret(garbled)
    with pytest.raises(InvalidToken, match=r"^not a valid token: pyregistry tokens start with 'pyr_'$"):
        parse_token_secret("ghp_" + secret[4:])


@given(st.text(max_size=80))
def test_malformed_token_strings_are_refused(text: str) -> None:
    if re.fullmatch(r"pyr_[A-Za-z0-9_-]{12}_[A-Za-z0-9_-]{43,}", text):
        return
    with pytest.raises(InvalidToken):
        parse_token_secret(text)
