"""The compose stack's JWKS test server publishes a key set that verifies the tokens it mints."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.support.server import free_port

pytestmark = pytest.mark.e2e
SCRIPT = Path(__file__).resolve().parents[2] / "compose" / "jwks_server.py"


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SCRIPT), "--port", str(port)], stdout=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_minted_tokens_verify_against_the_published_key_set(jwks_url: str) -> None:
    keys = KeySet.import_key_set(httpx.get(f"{jwks_url}/jwks.json").json())
    minted = httpx.post(f"{jwks_url}/token", json={"sub": "repo:acme/demo:ref:refs/heads/main"})
    assert minted.status_code == 200
    token = jwt.decode(minted.json()["token"], keys, algorithms=["RS256"])
    assert token.header["kid"] == "pyregistry-dev"
    assert token.claims["iss"] == "https://issuer.pyregistry.local"
    assert token.claims["aud"] == "pyregistry"
    assert token.claims["sub"] == "repo:acme/demo:ref:refs/heads/main"
    assert token.claims["exp"] > time.time()


def test_bad_requests_are_refused(jwks_url: str) -> None:
    answers = [
        httpx.post(f"{jwks_url}/token", content=b"[not json"),
        httpx.post(f"{jwks_url}/token", json=[1, 2]),
        httpx.get(f"{jwks_url}/elsewhere"),
    ]
    assert [(answer.status_code, answer.json()) for answer in answers] == [
        (400, {"error": "body must be a JSON object of claims"}),
        (400, {"error": "body must be a JSON object of claims"}),
        (404, {"error": "not found"}),
    ]
