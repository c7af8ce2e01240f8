"""A real OpenID Connect provider on loopback for sign-in tests: ``oidc-provider-mock`` run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import free_port

__all__ = ["MockProvider", "running_provider"]


@dataclass(frozen=True)
class MockProvider:
    """A running provider: its issuer URL and how to change a user's claims (e.g. their groups)."""

    issuer: str

    def set_claims(self, subject: str, claims: dict[str, object]) -> None:
        response = httpx.put(f"{self.issuer}/users/{subject}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def id_token(self, subject: str, client_id: str, redirect_uri: str, nonce: str = "n") -> str:
        """Drive the code flow with plain HTTP (no browser) and return the ID token the provider issues."""
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "openid email",
            "state": "s",
            "nonce": nonce,
        }
        authorized = httpx.post(f"{self.issuer}/oauth2/authorize", params=query, data={"sub": subject}, timeout=10)
        assert authorized.status_code == 302, authorized.text
        code = httpx.URL(authorized.headers["location"]).params["code"]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        token = httpx.post(f"{self.issuer}/oauth2/token", data=form, auth=(client_id, "secret"), timeout=10)
        assert token.status_code == 200, token.text
        return str(token.json()["id_token"])


@contextmanager
def running_provider(
    log_dir: Path, users: Sequence[dict[str, object]], *, token_max_age: int = 3600
) -> Iterator[MockProvider]:
    """Start the provider with predefined ``users`` (claims with a ``sub``); a negative ``token_max_age`` makes it
    issue ID tokens that expired before they were issued."""
    port = free_port()
    args = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--token-max-age", str(token_max_age)]
    for user in users:
        args += ["--user-claims", json.dumps(user)]
    log = (log_dir / f"oidc-provider-{port}.log").open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited: {(log_dir / log.name).read_text()}")
            try:
                if httpx.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield MockProvider(issuer=issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()
