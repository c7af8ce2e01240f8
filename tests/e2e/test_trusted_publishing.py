"""Trusted publishing end to end: a loopback JWKS server, JWTs signed here, a real server, real twine."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey

from tests.support.attestations import flipped_signature, github_attested, gitlab_attested, needs_attestations
from tests.support.dists import build_wheel
from tests.support.jwks import JwksServer, ec_key, github_claims, rsa_key, serve_jwks, sign
from tests.support.server import BIN_DIR, RunningRegistry, clean_client_env, start_registry

pytestmark = pytest.mark.e2e

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "pyregistry-test"
GITLAB_ISSUER = "https://gitlab.example.test"
GITLAB_COM = "https://gitlab.com"


@dataclass
class Oidc:
    registry: RunningRegistry
    jwks: JwksServer
    rsa: RSAKey
    ec: ECKey
    gitlab_com_key: ECKey

    def mint(self, token: str) -> httpx.Response:
        return httpx.post(f"{self.registry.base_url}/_/oidc/mint-token", json={"token": token}, timeout=30)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        return github_claims(ISSUER, AUDIENCE, **overrides)


@pytest.fixture(scope="module")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Oidc]:
    rsa, ec, gitlab_com_key = rsa_key("k1"), ec_key("k2"), ec_key("gitlab-com")
    with serve_jwks([rsa, ec]) as jwks, serve_jwks([gitlab_com_key]) as gitlab_com_jwks:
        issuers = [
            {"provider": "github", "issuer": ISSUER, "jwks_url": jwks.url, "audience": AUDIENCE},
            {"provider": "gitlab", "issuer": GITLAB_ISSUER, "jwks_url": jwks.url, "audience": AUDIENCE},
            {"provider": "gitlab", "issuer": GITLAB_COM, "jwks_url": gitlab_com_jwks.url, "audience": AUDIENCE},
        ]
        registry = start_registry(tmp_path_factory.mktemp("oidc"), {"OIDC_ISSUERS": json.dumps(issuers)})
        try:
            registry.create_tenant("acme")
            added = registry.cli(
                "add-publisher",
                "--tenant", "acme",
                "--project", "acme-tools",
                "--provider", "github",
                "--repository", "acme/tools",
                "--workflow", "release.yml",
                "--environment", "pypi",
            )  # fmt: skip
            assert "github:acme/tools/release.yml@env:pypi" in added.stdout
            registry.cli(
                "add-publisher",
                "--tenant", "acme",
                "--project", "gitlab-tools",
                "--provider", "gitlab",
                "--repository", "group/gitlab-tools",
                "--workflow", ".gitlab-ci.yml",
                "--issuer", GITLAB_ISSUER,
            )  # fmt: skip
            yield Oidc(registry=registry, jwks=jwks, rsa=rsa, ec=ec, gitlab_com_key=gitlab_com_key)
        finally:
            registry.stop()


def twine(
    registry: RunningRegistry, token: str, *files: Path, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    args = [str(BIN_DIR / "twine"), "upload", "--non-interactive", "--disable-progress-bar", *extra]
    args += ["--repository-url", registry.upload_url("acme"), "-u", "__token__", "-p", token, *map(str, files)]
    return subprocess.run(args, capture_output=True, text=True, timeout=180, env=clean_client_env())


def audit_rows(registry: RunningRegistry, action: str) -> list[dict[str, Any]]:
    with sqlite3.connect(registry.workdir / ".pyregistry" / "pyregistry.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM audit_events WHERE action = ?", (action,))]


def uploads_of(registry: RunningRegistry, filename: str) -> int:
    """How many accepted uploads of ``filename`` the audit trail records."""
    return sum(1 for row in audit_rows(registry, "package.upload") if row["target"].endswith(f"/{filename}"))


def test_audience_endpoint(oidc: Oidc) -> None:
    response = httpx.get(f"{oidc.registry.base_url}/_/oidc/audience", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"audience": AUDIENCE}


def test_minted_token_publishes_its_project_only(oidc: Oidc, tmp_path: Path) -> None:
    response = oidc.mint(sign(oidc.claims(), oidc.rsa))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["token"].startswith("pyr_")
    assert 14 * 60 <= body["expires"] - time.time() <= 15 * 60 + 5

    ours = twine(oidc.registry, body["token"], build_wheel(tmp_path, "acme-tools", "1.0.0"))
    assert ours.returncode == 0, ours.stdout + ours.stderr
    other = twine(oidc.registry, body["token"], build_wheel(tmp_path, "other-project", "1.0.0"))
    assert other.returncode != 0
    assert "403" in other.stdout + other.stderr

    mints = audit_rows(oidc.registry, "oidc.mint")
    assert mints and json.loads(mints[-1]["details"])["claim.repository"] == "acme/tools"
    uploads = [row for row in audit_rows(oidc.registry, "package.upload") if "acme-tools==1.0.0" in row["target"]]
    details = json.loads(uploads[-1]["details"])
    assert json.loads(details["publisher"])["repository"] == "acme/tools"
    claims = oidc.claims()
    kept = {name: details[f"claim.{name}"] for name in ("iss", "repository", "ref", "sha", "environment")}
    assert kept == {name: claims[name] for name in kept}
    assert details["claim.job_workflow_ref"] == claims["job_workflow_ref"]
    assert details["claim.workflow_ref"] == claims["workflow_ref"]


ATTESTED_REPOSITORY = "trailofbits/pypi-attestations"


def _attested_publisher_token(oidc: Oidc, workflow: str = "release.yml") -> str:
    """A token minted (ES256) by the publisher of the real GitHub attestation (trailofbits/pypi-attestations)."""
    listed = oidc.registry.cli("list-publishers", "--tenant", "acme", "--project", "pypi-attestations").stdout
    if f"github:{ATTESTED_REPOSITORY}/{workflow}" not in listed:
        oidc.registry.cli(
            "add-publisher", "--tenant", "acme", "--project", "pypi-attestations", "--provider", "github",
            "--repository", ATTESTED_REPOSITORY, "--workflow", workflow,
        )  # fmt: skip
    ref = f"{ATTESTED_REPOSITORY}/.github/workflows/{workflow}@refs/tags/v0.0.19"
    claims = oidc.claims(
        repository=ATTESTED_REPOSITORY,
        repository_owner="trailofbits",
        sub=f"repo:{ATTESTED_REPOSITORY}:ref:refs/tags/v0.0.19",
        workflow_ref=ref,
        job_workflow_ref=ref,
        environment=None,
    )
    minted = oidc.mint(sign(claims, oidc.ec))
    assert minted.status_code == 200, minted.text
    token: str = minted.json()["token"]
    return token


@needs_attestations
def test_provenance_round_trip_with_es256_minted_token(oidc: Oidc, tmp_path: Path) -> None:
    attested = github_attested()
    sdist = tmp_path / attested.filename
    shutil.copy(attested.path, sdist)
    attestation_path = Path(f"{sdist}.publish.attestation")
    attestation_path.write_text(json.dumps(attested.attestation))
    token = _attested_publisher_token(oidc)
    started = time.perf_counter()
    result = twine(oidc.registry, token, sdist, attestation_path, extra=("--attestations",))
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"twine upload with a verified attestation took {time.perf_counter() - started:.2f} s")

    reader = oidc.registry.issue_token("acme", "read", name="reader")
    auth = ("__token__", reader)
    base = oidc.registry.base_url
    url = f"{base}/t/acme/provenance/pypi-attestations/0.0.19/{sdist.name}"
    provenance = httpx.get(url, auth=auth, timeout=10)
    assert provenance.status_code == 200, provenance.text
    bundle = provenance.json()["attestation_bundles"][0]
    assert provenance.json()["version"] == 1
    assert bundle["attestations"] == [attested.attestation]
    assert bundle["publisher"]["kind"] == "GitHub" and bundle["publisher"]["workflow"] == "release.yml"
    assert bundle["publisher"]["repository"] == ATTESTED_REPOSITORY
    assert bundle["publisher"]["claims"]["sha"] == oidc.claims()["sha"]
    assert bundle["publisher"]["claims"]["iss"] == ISSUER
    assert httpx.get(url, timeout=10).status_code == 401
    uploads = [
        row for row in audit_rows(oidc.registry, "package.upload") if "pypi-attestations==0.0.19" in row["target"]
    ]
    assert json.loads(uploads[-1]["details"])["attested_by"] == f"github:{ATTESTED_REPOSITORY}/release.yml"

    page = httpx.get(
        f"{base}/t/acme/simple/pypi-attestations/",
        auth=auth,
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=10,
    ).json()
    entry = next(file for file in page["files"] if file["filename"] == sdist.name)
    assert httpx.get(
        httpx.URL(f"{base}/t/acme/simple/pypi-attestations/").join(entry["provenance"]), auth=auth
    ).json() == (provenance.json())
    html = httpx.get(f"{base}/t/acme/simple/pypi-attestations/", auth=auth, timeout=10).text
    assert "data-provenance=" in html


@needs_attestations
@pytest.mark.parametrize("case", ["another workflow", "flipped signature", "another distribution"])
def test_an_attestation_that_does_not_verify_is_refused_and_nothing_is_stored(
    oidc: Oidc, tmp_path: Path, case: str
) -> None:
    attested = github_attested()
    attestation, workflow = attested.attestation, "release.yml"
    sdist = tmp_path / attested.filename
    shutil.copy(attested.path, sdist)
    if case == "another workflow":
        workflow = "nightly.yml"
    elif case == "flipped signature":
        attestation = flipped_signature(attestation)
    else:
        sdist = build_wheel(tmp_path, "pypi-attestations", "0.0.20")
    attestation_path = Path(f"{sdist}.publish.attestation")
    attestation_path.write_text(json.dumps(attestation))
    token = _attested_publisher_token(oidc, workflow)
    before = uploads_of(oidc.registry, sdist.name)
    result = twine(oidc.registry, token, sdist, attestation_path, extra=("--attestations", "--verbose"))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "400" in output and "attestations: [0] " in output, output
    assert uploads_of(oidc.registry, sdist.name) == before


def test_malformed_attestations_are_refused(oidc: Oidc, tmp_path: Path) -> None:
    minted = oidc.mint(sign(oidc.claims(), oidc.rsa)).json()["token"]
    wheel = build_wheel(tmp_path, "acme-tools", "3.0.0")
    bad = Path(f"{wheel}.publish.attestation")
    bad.write_text(json.dumps({"version": 1, "envelope": {}}))
    result = twine(oidc.registry, minted, wheel, bad, extra=("--attestations", "--verbose"))
    assert result.returncode != 0
    assert "verification_material" in result.stdout + result.stderr


def _segment(value: object) -> str:
    """``value`` (a string is sent as is) as one base64url JWT segment."""
    raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _alg_none(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'kid': 'k1'})}.{part(claims)}."


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["repository"] = "acme/tools"
    claims["environment"] = "pypi"
    claims["sub"] = "tampered"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


REFUSALS = {
    "wrong audience": (lambda o: sign(o.claims(aud="someone-else"), o.rsa), 401, "wrong audience"),
    "wrong issuer": (lambda o: sign(o.claims(iss="https://evil.example"), o.rsa), 401, "not a trusted OIDC issuer"),
    "expired": (
        lambda o: sign(o.claims(exp=int(time.time()) - 600, iat=int(time.time()) - 900, nbf=None), o.rsa),
        401,
        "expired",
    ),
    "not yet valid": (lambda o: sign(o.claims(nbf=int(time.time()) + 600), o.rsa), 401, "not valid yet"),
    "tampered signature": (lambda o: _tampered(sign(o.claims(sub="x"), o.rsa)), 401, "signature verification failed"),
    "alg none": (lambda o: _alg_none(o.claims()), 401, "algorithm 'none' is not allowed"),
    "no matching publisher": (
        lambda o: sign(
            o.claims(repository="acme/other", workflow_ref="acme/other/.github/workflows/release.yml@x"), o.rsa
        ),
        403,
        "no trusted publisher matches",
    ),
    "wrong environment": (lambda o: sign(o.claims(environment="staging"), o.rsa), 403, "environment"),
    "not a jwt": (lambda o: "not-a-jwt", 401, "malformed token"),
    "deeply nested payload": (
        lambda o: f"{_segment({'alg': 'RS256', 'kid': 'k1'})}.{_segment('[' * 5_000)}.c2ln",
        401,
        "malformed token: the payload nests arrays or objects deeper than 32 levels",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_names_its_check(oidc: Oidc, case: str) -> None:
    make, status, message = REFUSALS[case]
    response = oidc.mint(make(oidc))
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert "BEGIN" not in response.text and '"n"' not in response.text


def test_replayed_jti_is_refused(oidc: Oidc) -> None:
    token = sign(oidc.claims(), oidc.rsa)
    assert oidc.mint(token).status_code == 200
    replay = oidc.mint(token)
    assert replay.status_code == 401
    assert "replayed token" in replay.json()["message"]


def test_key_rotation_then_rate_limited_unknown_kid(oidc: Oidc) -> None:
    rotated = rsa_key("k3")
    oidc.jwks.keys.append(rotated)
    fresh = oidc.mint(sign(oidc.claims(), rotated))
    assert fresh.status_code == 200, fresh.text
    hits = oidc.jwks.hits
    for _ in range(3):
        unknown = oidc.mint(sign(oidc.claims(), rsa_key("zz"), kid="never-published"))
        assert unknown.status_code == 401
        assert "unknown signing key" in unknown.json()["message"]
    assert oidc.jwks.hits == hits


def test_bad_mint_body_is_a_clear_400(oidc: Oidc) -> None:
    response = httpx.post(f"{oidc.registry.base_url}/_/oidc/mint-token", content=b"[1,2", timeout=10)
    assert response.status_code == 400
    assert "token" in response.json()["message"]


def test_deeply_nested_mint_body_is_a_clear_400(oidc: Oidc) -> None:
    body = b'{"token": "x", "nested": ' + b"[" * 30_000
    response = httpx.post(f"{oidc.registry.base_url}/_/oidc/mint-token", content=body, timeout=10)
    assert (response.status_code, response.json()["message"]) == (
        400,
        "the body nests arrays or objects deeper than 32 levels",
    )


def test_deeply_nested_attestations_are_a_clear_400_and_store_nothing(oidc: Oidc, tmp_path: Path) -> None:
    minted = oidc.mint(sign(oidc.claims(), oidc.rsa)).json()["token"]
    wheel = build_wheel(tmp_path, "acme-tools", "4.0.0")
    content = wheel.read_bytes()
    response = httpx.post(
        oidc.registry.upload_url("acme"),
        auth=("__token__", minted),
        data={
            ":action": "file_upload",
            "name": "acme-tools",
            "version": "4.0.0",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
            "attestations": "[" * 100_000 + "]" * 100_000,
        },
        files={"content": (wheel.name, content, "application/octet-stream")},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert "attestations: the form field nests arrays or objects deeper than 32 levels" in response.text
    page = httpx.get(
        f"{oidc.registry.base_url}/t/acme/simple/acme-tools/",
        auth=("__token__", oidc.registry.issue_token("acme", "read", name="deep-reader")),
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=10,
    )
    assert wheel.name not in page.text


def gitlab_claims(issuer: str, jti: str) -> dict[str, Any]:
    """Claims of a GitLab CI job of group/gitlab-tools on the instance behind ``issuer``."""
    now = int(time.time())
    host = issuer.removeprefix("https://")
    return {
        "iss": issuer,
        "aud": AUDIENCE,
        "jti": jti,
        "iat": now,
        "exp": now + 300,
        "project_path": "group/gitlab-tools",
        "ci_config_ref_uri": f"{host}/group/gitlab-tools//.gitlab-ci.yml@refs/heads/main",
        "ref": "main",
        "sha": "89abcdef0123456789abcdef0123456789abcdef",
    }


def test_publisher_of_one_gitlab_instance_refuses_the_same_path_on_another(oidc: Oidc) -> None:
    impostor = oidc.mint(sign(gitlab_claims(GITLAB_COM, f"gl-com-{time.time_ns()}"), oidc.gitlab_com_key))
    assert impostor.status_code == 403, impostor.text
    assert "no trusted publisher matches" in impostor.json()["message"]
    assert "(claims that differ: iss)" in impostor.json()["message"]
    listed = oidc.registry.cli("list-publishers", "--tenant", "acme", "--project", "gitlab-tools").stdout
    assert listed.rstrip("\n").endswith(f"\t{GITLAB_ISSUER}")


def test_add_publisher_needs_the_issuer_when_a_provider_has_several(oidc: Oidc) -> None:
    args = ["add-publisher", "--tenant", "acme", "--project", "other-tools", "--provider", "gitlab"]
    args += ["--repository", "group/other-tools", "--workflow", ".gitlab-ci.yml"]
    ambiguous = oidc.registry.cli(*args, check=False)
    assert ambiguous.returncode != 0
    assert "2 gitlab OIDC issuers are configured" in ambiguous.stderr and GITLAB_COM in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
    unknown = oidc.registry.cli(*args, "--issuer", "https://gitlab.evil.test", check=False)
    assert unknown.returncode != 0
    assert "'https://gitlab.evil.test' is not a configured gitlab OIDC issuer" in unknown.stderr
    github = oidc.registry.cli(
        "add-publisher", "--tenant", "acme", "--project", "other-tools", "--provider", "github",
        "--repository", "acme/other-tools", "--workflow", "release.yml",
    )  # fmt: skip
    assert f"(issuer {ISSUER})" in github.stdout


def test_gitlab_publisher_mints_for_its_project(oidc: Oidc) -> None:
    now = int(time.time())
    claims = gitlab_claims(GITLAB_ISSUER, f"gl-{now}")
    minted = oidc.mint(sign(claims, oidc.ec))
    assert minted.status_code == 200, minted.text
    listed = oidc.registry.cli("list-publishers", "--tenant", "acme", "--project", "gitlab-tools").stdout
    assert "gitlab:group/gitlab-tools/.gitlab-ci.yml" in listed
    publisher_id = listed.split("\t", 1)[0]
    oidc.registry.cli("remove-publisher", "--tenant", "acme", "--id", publisher_id)
    refused = oidc.mint(sign({**claims, "jti": f"gl2-{now}"}, oidc.ec))
    assert refused.status_code == 403
    assert "no trusted publisher matches" in refused.json()["message"]


@needs_attestations
def test_a_plain_token_upload_records_the_verified_signer_as_publisher(oidc: Oidc, tmp_path: Path) -> None:
    attested = gitlab_attested()
    sdist = tmp_path / attested.filename
    shutil.copy(attested.path, sdist)
    attestation_path = Path(f"{sdist}.publish.attestation")
    attestation_path.write_text(json.dumps(attested.attestation))
    token = oidc.registry.issue_token("acme", "publish", name="plain-ci")
    result = twine(oidc.registry, token, sdist, attestation_path, extra=("--attestations",))
    assert result.returncode == 0, result.stdout + result.stderr
    url = f"{oidc.registry.base_url}/t/acme/provenance/gitlab-oidc-project/0.0.3/{sdist.name}"
    provenance = httpx.get(url, auth=("__token__", token), timeout=10)
    assert provenance.status_code == 200, provenance.text
    assert provenance.json()["attestation_bundles"][0]["publisher"] == {
        "kind": "GitLab",
        "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml",
    }
