"""Hypothesis fuzzing of every parser: only the documented error types come out, accepted input round-trips.

Run with ``--hypothesis-show-statistics`` to see how many cases each suite ran.
"""

from __future__ import annotations

import base64
import hashlib
import json
import string
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tomlkit
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from joserfc.jwk import RSAKey
from litestar.testing import TestClient
from packaging.version import Version

from pyregistry_bootstrap.asgi import app_from_runtime
from pyregistry_bootstrap.wiring import build_runtime
from pyregistry_domain.distributions import DistributionKind, parse_distribution_filename
from pyregistry_domain.errors import InvalidDistribution, InvalidFilename, InvalidToken, InvalidVersion
from pyregistry_domain.names import normalize_project_name
from pyregistry_domain.publishers import PublisherProvider
from pyregistry_domain.versions import canonical_version
from pyregistry_infrastructure.archives import parse_core_metadata
from pyregistry_infrastructure.config import ENVIRONMENT_KEYS, ConfigError, load_settings
from pyregistry_infrastructure.oidc.jwks import JwksCache
from pyregistry_infrastructure.oidc.verifier import JoseIdentityVerifier, TrustedIssuer
from pyregistry_infrastructure.settings import ServerSettings, Settings
from pyregistry_infrastructure.system import SystemClock
from tests.support.dists import build_sdist, build_wheel
from tests.support.jwks import rsa_key, serve_jwks, sign

pytestmark = pytest.mark.slow  # hundreds of generated examples per parser

FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
names = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?\Z")
versions = st.from_regex(r"\A([0-9]!)?[0-9]{1,4}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9]{1,2})?(\.post[0-9])?(\.dev[0-9])?\Z")
filename_noise = st.text(string.ascii_letters + string.digits + "._-+!~ /\\:\0é", max_size=60)


# distribution filenames


@FAST
@given(
    st.one_of(
        text, filename_noise, filename_noise.map(lambda s: s + ".whl"), filename_noise.map(lambda s: s + ".tar.gz")
    )
)
def test_any_filename_parses_or_is_invalid_filename(filename: str) -> None:
    try:
        parsed = parse_distribution_filename(filename)
    except InvalidFilename as exc:
        assert exc.message
        return
    assert parsed.filename == filename
    assert parsed.normalized_name == normalize_project_name(parsed.normalized_name)
    assert canonical_version(parsed.version) == parsed.version


@FAST
@given(names, versions, st.sampled_from(["wheel", "sdist", "zip"]))
def test_generated_distribution_filenames_round_trip(name: str, version: str, kind: str) -> None:
    stem = f"{normalize_project_name(name).replace('-', '_')}-{version}"
    filename = {"wheel": f"{stem}-py3-none-any.whl", "sdist": f"{stem}.tar.gz", "zip": f"{stem}.zip"}[kind]
    parsed = parse_distribution_filename(filename)
    assert parsed.normalized_name == normalize_project_name(name)
    assert Version(parsed.version) == Version(version)
    assert parsed.kind is (DistributionKind.WHEEL if kind == "wheel" else DistributionKind.SDIST)


# versions


@FAST
@given(st.one_of(text, versions, st.from_regex(r"\A[0-9a-z.!+_-]{1,20}\Z")))
def test_versions_canonicalize_or_raise_invalid_version(raw: str) -> None:
    try:
        canonical = canonical_version(raw)
    except InvalidVersion as exc:
        assert repr(raw) in exc.message
        return
    assert canonical_version(canonical) == canonical
    assert Version(canonical) == Version(raw)


# core metadata (METADATA / PKG-INFO)

header_names = st.sampled_from(["Name", "Version", "Metadata-Version", "Summary", "Requires-Python", "Requires-Dist"])
header_lines = st.tuples(st.one_of(header_names, text), text).map(lambda pair: f"{pair[0]}: {pair[1]}")


@FAST
@given(
    st.one_of(
        st.binary(max_size=300),
        st.lists(header_lines, max_size=8).map(lambda lines: "\n".join(lines).encode("utf-8")),
        st.lists(header_lines, max_size=8).map(lambda lines: "\r\n".join(lines).encode("latin-1", errors="replace")),
    )
)
def test_any_metadata_parses_or_is_invalid_distribution(raw: bytes) -> None:
    try:
        parsed = parse_core_metadata(raw)
    except InvalidDistribution as exc:
        assert exc.message
        return
    assert parsed.name and parsed.version
    assert parsed.raw == raw


@FAST
@given(names, versions, st.text(st.characters(exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=40))
def test_generated_metadata_round_trips(name: str, version: str, summary: str) -> None:
    raw = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n".encode()
    parsed = parse_core_metadata(raw)
    assert (parsed.name, parsed.version) == (name, version)
    assert parsed.summary == (summary.strip() or None)


# multipart upload forms, through the real route in process

SAMPLE_VERSIONS = [f"1.0.{minor}" for minor in range(6)]
MAX_UPLOAD = 8192
UPLOAD_FIELDS = [":action", "name", "version", "filetype", "sha256_digest", "md5_digest", "content", "attestations"]


class UploadTarget:
    """An in-process app on a temporary data dir, a publish token, and a few real distributions."""

    def __init__(self, root: Path) -> None:
        data = root / ".pyregistry"
        runtime = build_runtime(
            Settings(
                data_dir=str(data),
                blob_root=str(data / "blobs"),
                database_store="memory",
                server=ServerSettings(max_upload_bytes=MAX_UPLOAD),
                superadmin_password="fuzz-admin-password",
                cookie_secret="fuzz-cookie-secret-fuzz-cookie-secret",
            )
        )
        runtime.services.tenants.create_tenant(
            slug="fuzz", display_name="Fuzz", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
        )
        self.token = runtime.services.tokens.issue(
            tenant_slug="fuzz", name="f", scopes=["publish", "read"], actor="t"
        ).secret
        self.client = TestClient(app_from_runtime(runtime))
        self.samples: list[tuple[str, bytes]] = []
        for version in SAMPLE_VERSIONS:
            for built in (
                build_wheel(root / version, "fuzzed", version),
                build_sdist(root / version, "fuzzed", version),
            ):
                self.samples.append((built.name, built.read_bytes()))
        self.spool_root = data / "tmp"


@pytest.fixture(scope="module")
def target() -> Iterator[UploadTarget]:
    with tempfile.TemporaryDirectory(prefix="pyregistry-fuzz-") as tmp:
        target = UploadTarget(Path(tmp))
        with target.client:
            yield target


def _mutate(data: bytes, how: int, where: int) -> bytes:
    if how == 0 or not data:
        return data
    point = where % len(data)
    if how == 1:
        return data[:point]
    if how == 2:
        return data[:point] + bytes([data[point] ^ 0x55]) + data[point + 1 :]
    return data + data[point:]


@st.composite
def upload_bodies(draw: st.DrawFn, samples: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart body: half the time a well-formed upload of a real distribution, otherwise anything goes."""
    well_formed = draw(st.booleans())
    boundary = draw(st.sampled_from(["b0undary", "x", "----fuzz" * 5]))
    index = draw(st.integers(0, len(samples) + 1))
    if index < len(samples):
        filename, content = samples[index]
    else:
        filename, content = (
            "fuzzed-1.0.0-py3-none-any.whl",
            draw(st.binary(max_size=200) | st.just(b"\0" * MAX_UPLOAD * 2)),
        )
    version = filename.split("-")[1].removesuffix(".tar.gz")
    good = {
        ":action": "file_upload",
        "name": "fuzzed",
        "version": version,
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    parts = [(key, value) for key, value in good.items()]
    if not well_formed:
        content = _mutate(content, draw(st.integers(0, 3)), draw(st.integers(0, 10_000)))
        filename = draw(st.sampled_from([filename]) | text)
        parts = [(key, draw(st.sampled_from([value]) | text)) for key, value in parts if draw(st.integers(0, 9))]
        parts += draw(st.lists(st.tuples(st.sampled_from(UPLOAD_FIELDS) | text, text), max_size=4))
    encoded = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
        for key, value in parts
    ]
    if well_formed or draw(st.integers(0, 5)):
        encoded.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="{filename}"\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    body = b"".join(draw(st.permutations(encoded))) + f"--{boundary}--\r\n".encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    if not well_formed:
        body = _mutate(body, draw(st.sampled_from([0, 0, 0, 1, 2, 3])), draw(st.integers(0, 100_000)))
        content_type = draw(st.sampled_from([content_type, "multipart/form-data", "text/plain"]))
    return body, content_type


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_upload_forms_never_cause_a_server_error(target: UploadTarget, data: st.DataObject) -> None:
    body, content_type = data.draw(upload_bodies(target.samples))
    response = target.client.post(
        "/t/fuzz/legacy/",
        content=body,
        headers={"Content-Type": content_type},
        auth=("__token__", target.token),
    )
    event(f"HTTP {response.status_code}")
    assert response.status_code in {200, 400, 409, 413}, response.text
    assert "Traceback" not in response.text
    if response.status_code == 200:
        filename = response.text.split("stored ", 1)[1].split(" (", 1)[0]
        version = filename.split("-")[1].removesuffix(".tar.gz")
        stored = target.client.get(f"/t/fuzz/files/fuzzed/{version}/{filename}", auth=("__token__", target.token))
        assert stored.status_code == 200
        assert stored.content == dict(target.samples)[filename]
    spooled = [path for path in target.spool_root.rglob("*") if path.is_file() and path.suffix != ".lock"]
    assert spooled == []


# configuration files and environment

_SECTIONS = {field.name: field.type for field in msgspec.structs.fields(Settings)}


def _known_keys() -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    for name, kind in _SECTIONS.items():
        keys.append((name,))
        if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
            keys.extend((name, sub.name) for sub in msgspec.structs.fields(kind))
    return keys


toml_scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    text,
    st.sampled_from(["127.0.0.1:8080", "sqlite", "s3", "info,httpx=debug", "10.0.0.0/8", "http://x", "json"]),
    st.datetimes(),
    st.dates(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(string.ascii_lowercase + "_", min_size=1, max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def config_documents(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(_known_keys()) | st.tuples(st.text(min_size=1, max_size=8)), max_size=6)):
        node = document
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[path[-1]] = draw(toml_values)
    return document


def _load(path: Path, content: str, environ: dict[str, str]) -> None:
    path.write_text(content, encoding="utf-8")
    try:
        loaded = load_settings(str(path), environ=environ)
    except ConfigError as exc:
        event("ConfigError")
        assert str(exc).strip()
        return
    event("accepted")
    assert isinstance(loaded.settings, Settings)
    assert loaded.path == path


@FAST
@given(config_documents(), st.dictionaries(st.sampled_from(sorted(ENVIRONMENT_KEYS)), text, max_size=3))
def test_random_config_values_load_or_raise_config_error(
    tmp_path_factory: pytest.TempPathFactory, document: dict[str, Any], environ: dict[str, str]
) -> None:
    try:
        content = tomlkit.dumps(document)
    except (ValueError, TypeError):
        return
    _load(tmp_path_factory.getbasetemp() / "fuzz.toml", content, environ)


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=200)
    | st.lists(
        st.sampled_from(["[server]", "workers = ", "1", "'", '"', "=", "\n", "[[oidc_issuers]]", "x.y = 2", "\\u"]),
        max_size=20,
    ).map("".join)
)
def test_random_config_text_loads_or_raises_config_error(tmp_path_factory: pytest.TempPathFactory, raw: str) -> None:
    _load(tmp_path_factory.getbasetemp() / "fuzz-text.toml", raw.replace("\x00", ""), {})


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 64),
    st.integers(1, 2**40),
    st.sampled_from(["console", "json"]),
    st.lists(st.sampled_from(["10.0.0.0/8", "127.0.0.1/32", "::1/128"]), max_size=3),
)
def test_accepted_config_values_round_trip(
    tmp_path_factory: pytest.TempPathFactory, workers: int, max_upload: int, log_format: str, cidrs: list[str]
) -> None:
    document = {
        "server": {"workers": workers, "max_upload_bytes": max_upload},
        "logging": {"format": log_format},
        "network_source": {"api_allowed_cidrs": cidrs},
    }
    path = tmp_path_factory.getbasetemp() / "round-trip.toml"
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    loaded = load_settings(str(path), environ={}).settings
    assert (loaded.server.workers, loaded.server.max_upload_bytes) == (workers, max_upload)
    assert loaded.logging.format == log_format
    assert loaded.network_source.api_allowed_cidrs == cidrs


# credentials (Authorization headers)

authorization_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80),
    st.binary(max_size=60).map(lambda raw: "Basic " + base64.b64encode(raw).decode()),
    st.tuples(
        st.sampled_from(["Basic ", "basic ", "Bearer ", "Token "]),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF), max_size=60),
    ).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(authorization=authorization_values)
def test_any_authorization_header_is_answered_without_a_server_error(target: UploadTarget, authorization: str) -> None:
    response = target.client.get(
        "/t/fuzz/simple/", headers={"Authorization": (authorization.strip() or "x").encode("latin-1")}
    )
    event(f"HTTP {response.status_code}")
    assert response.status_code in {401, 403}, response.text


# OIDC identity tokens (JWTs), against a real JWKS server on loopback

OIDC_ISSUER = "https://token.actions.githubusercontent.com"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=5,
)
odd_claims = st.dictionaries(
    st.sampled_from(["iss", "aud", "exp", "nbf", "iat", "jti", "sub"]),
    st.sampled_from([1e300, -1e300, 2**70, 2**64, 10**400, [OIDC_ISSUER], {"fuzz": 1}, "", "x" * 300]) | json_values,
    max_size=2,
)


@st.composite
def claim_values(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly valid claims with up to two replaced by odd values (or dropped)."""
    now = time.time()
    claims: dict[str, Any] = {"iss": OIDC_ISSUER, "aud": "fuzz", "exp": now + 300, "nbf": now - 5, "iat": now - 5}
    claims["jti"] = draw(text.filter(bool))
    claims.update(draw(odd_claims))
    for dropped in draw(st.lists(st.sampled_from(sorted(claims)), max_size=1)):
        claims.pop(dropped)
    return claims


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


DEEP_SEGMENT = base64.urlsafe_b64encode(b"[" * 5_000).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def oidc_verifier() -> Iterator[tuple[JoseIdentityVerifier, RSAKey]]:
    key = rsa_key("fuzz-key")
    with serve_jwks([key]) as jwks:
        issuer = TrustedIssuer(PublisherProvider.GITHUB, OIDC_ISSUER, jwks.url, "fuzz")
        yield JoseIdentityVerifier([issuer], JwksCache(), SystemClock()), key


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    claims=claim_values(),
    header=st.fixed_dictionaries(
        {"alg": st.sampled_from(["RS256", "none", "HS256"]) | json_values, "kid": st.just("fuzz-key") | json_values}
    ),
    shape=st.sampled_from(["signed", "forged", "text"]),
    noise=text,
)
@example(claims={}, header={}, shape="text", noise=f"{DEEP_SEGMENT}.{DEEP_SEGMENT}.c2ln")
@example(claims={}, header={}, shape="text", noise=f"{_b64({'alg': 'RS256', 'kid': 'k'})}.{DEEP_SEGMENT}.c2ln")
def test_any_identity_token_verifies_or_raises_invalid_token(
    oidc_verifier: tuple[JoseIdentityVerifier, RSAKey],
    claims: dict[str, Any],
    header: dict[str, Any],
    shape: str,
    noise: str,
) -> None:
    verifier, key = oidc_verifier
    if shape == "signed":
        token = sign(claims, key)
    elif shape == "forged":
        token = f"{_b64(header)}.{_b64(claims)}.{_b64(noise)}"
    else:
        token = noise
    try:
        identity = verifier.verify(token)
    except InvalidToken as exc:
        event(f"{shape}: refused")
        assert exc.message
        return
    event(f"{shape}: accepted")
    assert shape == "signed"
    assert identity.jti == claims["jti"]
    assert identity.issuer == OIDC_ISSUER
