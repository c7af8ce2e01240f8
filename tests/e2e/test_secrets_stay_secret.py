"""Secrets never reach the server log or any response: bad logins, bad and revoked tokens, broken webhooks, JWTs."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, AdminSession, issue_from_ui
from tests.support.dists import build_wheel
from tests.support.jwks import JwksServer, github_claims, rsa_key, serve_jwks, sign
from tests.support.raw_upload import form_upload
from tests.support.server import RunningRegistry, free_port, start_registry
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

TENANT = "secretive"
ADMIN_PASSWORD = "Admin-Password-LEAK-7d1e0c"
COOKIE_SECRET = "cookie-secret-LEAK-4b9f2a0e7c1d5e3f8a6b2c9d0e1f"
WEBHOOK_SECRETS = ("hook-password-LEAK-91", "webhook-path-token-LEAK-92", "webhook-query-LEAK-93")
ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "pyregistry-secrets-test"


def _webhook_path(label: str) -> str:
    _, path_token, query = WEBHOOK_SECRETS
    return f"/api/webhooks/{label}/{path_token}?token={query}"


def _webhook_url(port: int, label: str) -> str:
    return f"http://hook:{WEBHOOK_SECRETS[0]}@127.0.0.1:{port}{_webhook_path(label)}"


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    with serve_jwks([rsa_key("secret-test")]) as server:
        yield server


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    started = WebhookReceiver().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, jwks: JwksServer, receiver: WebhookReceiver
) -> Iterator[RunningRegistry]:
    receiver_port = int(receiver.url.rsplit(":", 1)[1])
    issuers = [{"provider": "github", "issuer": ISSUER, "jwks_url": jwks.url, "audience": AUDIENCE}]
    running = start_registry(
        tmp_path_factory.mktemp("secrets"),
        {
            "SUPERADMIN_PASSWORD": ADMIN_PASSWORD,
            "COOKIE_SECRET": COOKIE_SECRET,
            "PACKAGE_PUBLISH_WEBHOOK_URL": _webhook_url(receiver_port, "publish"),
            "VULNERABILITY_WEBHOOK_URL": _webhook_url(free_port(), "vulns"),
            "OIDC_ISSUERS": json.dumps(issuers),
            "LOG_FILTER": "debug",
        },
    )
    try:
        running.create_tenant(TENANT)
        yield running
    finally:
        running.stop()


class Witness:
    """Every response the test saw, and every secret it used."""

    def __init__(self) -> None:
        self.responses: list[str] = []
        self.secrets: set[str] = {ADMIN_PASSWORD, COOKIE_SECRET, *WEBHOOK_SECRETS}

    def saw(self, response: httpx.Response) -> httpx.Response:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items() if k.lower() != "set-cookie")
        self.responses.append(f"{response.status_code}\n{headers}\n{response.text}")
        return response

    def secret(self, value: str) -> str:
        self.secrets.add(value)
        return value

    def leaks(self, text: str) -> list[str]:
        forms = {secret: [secret, base64.b64encode(f"__token__:{secret}".encode()).decode()] for secret in self.secrets}
        return sorted(secret for secret, variants in forms.items() if any(variant in text for variant in variants))


def _simple(server: RunningRegistry, secret: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/t/{TENANT}/simple/", auth=("__token__", secret), timeout=30)


def _new_token(admin: AdminSession, witness: Witness, name: str) -> tuple[str, str]:
    secret = witness.secret(issue_from_ui(admin, TENANT, {"name": name, "scope_read": "on", "scope_publish": "on"})[0])
    listing = admin.get(f"/admin/t/{TENANT}/tokens").text
    token_id = listing.split(f"/admin/t/{TENANT}/tokens/")[1].split("/revoke")[0]
    return secret, token_id


def test_secrets_stay_out_of_logs_and_responses(
    server: RunningRegistry, jwks: JwksServer, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    witness = Witness()
    for email, password in [(SUPERADMIN_EMAIL, "Wrong-Password-LEAK-1"), ("nobody@example.test", "Wrong-LEAK-2")]:
        attempt = AdminSession(server)
        witness.saw(attempt.login(email, witness.secret(password)))
    admin = AdminSession(server)
    assert witness.saw(admin.login(SUPERADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 303

    good, _ = _new_token(admin, witness, "good")
    revoked, revoked_id = _new_token(admin, witness, "soon-revoked")
    assert admin.post(f"/admin/t/{TENANT}/tokens/{revoked_id}/revoke").status_code == 303

    for bad in ["not-a-token-LEAK-3", "pyr_AAAAAAAAAAAA_" + "B" * 43, good[:-4] + "LEAK", revoked]:
        assert witness.saw(_simple(server, witness.secret(bad))).status_code == 401

    wheel = build_wheel(tmp_path, "hushed", "1.0.0")
    refused = witness.saw(form_upload(server.upload_url(TENANT), revoked, wheel, "hushed", "1.0.0"))
    assert refused.status_code == 401
    for name in ("hushed", "fail-hook-pkg", "unreachable-pkg"):  # webhook delivered, answered 500, unreachable
        if name == "unreachable-pkg":  # deliveries follow the upload's answer: let the first two arrive
            assert len(receiver.wait_for(_webhook_path("publish"), 2)) == 2
            receiver.stop()
        wheel = build_wheel(tmp_path / name, name, "1.0.0")
        stored = witness.saw(form_upload(server.upload_url(TENANT), good, wheel, name, "1.0.0"))
        assert stored.status_code == 200, stored.text

    mint = f"{server.base_url}/_/oidc/mint-token"
    unknown_publisher = witness.secret(sign(github_claims(ISSUER, AUDIENCE), jwks.keys[0]))
    wrong_audience = witness.secret(sign(github_claims(ISSUER, "someone-else"), jwks.keys[0]))
    garbage = witness.secret("eyJhbGciOiJSUzI1NiJ9.eyJMRUFLIjoiand0In0.c2lnbmF0dXJlLUxFQUstand0")
    for jwt_text in (unknown_publisher, wrong_audience, garbage):
        assert witness.saw(httpx.post(mint, json={"token": jwt_text}, timeout=30)).status_code in {400, 401, 403}
        witness.secret(jwt_text.rsplit(".", 1)[-1])

    shown = server.cli("config", "show").stdout
    deadline = time.monotonic() + 15
    expected = ("webhook delivered", "webhook refused", "webhook delivery failed")
    while not all(line in server.log_path.read_text() for line in expected) and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.log_path.read_text()
    assert all(line in log for line in expected)
    assert "mint" in log
    assert witness.leaks(log) == []
    assert witness.leaks("\n".join(witness.responses)) == []
    assert witness.leaks(shown) == []
