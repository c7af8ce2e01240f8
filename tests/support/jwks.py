"""A real JWKS server on loopback and a JWT signer, for trusted-publishing tests."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey


@dataclass
class JwksServer:
    """Serves ``/jwks`` from ``keys`` (public parts only) and counts requests.

    ``status`` other than 200 simulates an outage (an error page); ``delay_seconds`` a slow issuer.
    """

    keys: list[RSAKey | ECKey]
    port: int = 0
    hits: int = 0
    status: int = 200
    delay_seconds: float = 0.0
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks"

    def document(self) -> dict[str, Any]:
        return KeySet(list(self.keys)).as_dict(private=False)


@contextmanager
def serve_jwks(keys: list[RSAKey | ECKey]) -> Iterator[JwksServer]:
    """Run a JWKS server on an ephemeral loopback port for the duration of the block."""
    state = JwksServer(keys=keys)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            time.sleep(state.delay_seconds)
            status = state.status if self.path == "/jwks" else 404
            body = json.dumps(state.document() if status == 200 else {"error": "unavailable"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    state._server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def rsa_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


def ec_key(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid, "alg": "ES256", "use": "sig"})


def github_claims(issuer: str, audience: str, **overrides: Any) -> dict[str, Any]:
    """Claims as GitHub Actions puts them in an identity token for acme/tools' release.yml."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": "repo:acme/tools:environment:pypi",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "repository": "acme/tools",
        "repository_owner": "acme",
        "repository_id": "42",
        "workflow_ref": "acme/tools/.github/workflows/release.yml@refs/tags/v1.0.0",
        "job_workflow_ref": "acme/tools/.github/workflows/release.yml@refs/tags/v1.0.0",
        "environment": "pypi",
        "ref": "refs/tags/v1.0.0",
        "sha": "0123456789abcdef0123456789abcdef01234567",
    }
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


def sign(claims: dict[str, Any], key: RSAKey | ECKey, *, kid: str | None = None) -> str:
    """A compact JWS signed with ``key`` (RS256 for RSA, ES256 for EC)."""
    alg = "ES256" if isinstance(key, ECKey) else "RS256"
    return jwt.encode({"alg": alg, "kid": kid or str(key.kid), "typ": "JWT"}, claims, key)
