"""A development OIDC issuer for trusted publishing: serves a JWKS and mints test ID tokens.

Run ``python compose/jwks_server.py --port 8081``. ``GET /jwks.json`` returns the public key set;
``POST /token`` with a JSON object of claims returns ``{"token": "<RS256 JWT>"}`` signed by the same key,
with ``iss``, ``aud``, ``iat`` and ``exp`` filled in when absent. The key is generated at start and never
written to disk: this is a test fixture, not an identity provider.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

KEY_ID = "pyregistry-dev"
DEFAULT_ISSUER = "https://issuer.pyregistry.local"
DEFAULT_AUDIENCE = "pyregistry"


def make_handler(key: RSAKey, issuer: str, audience: str) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one signing key."""
    public = json.dumps(KeySet([key]).as_dict(private=False)).encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path in {"/jwks.json", "/.well-known/jwks.json"}:
                self._answer(200, public)
            elif self.path == "/healthz":
                self._answer(200, b'{"status": "ok"}')
            else:
                self._answer(404, b'{"error": "not found"}')

        def do_POST(self) -> None:
            if self.path != "/token":
                self._answer(404, b'{"error": "not found"}')
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                claims: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._answer(400, b'{"error": "body must be a JSON object of claims"}')
                return
            if not isinstance(claims, dict):
                self._answer(400, b'{"error": "body must be a JSON object of claims"}')
                return
            now = int(time.time())
            claims = {"iss": issuer, "aud": audience, "iat": now, "exp": now + 600, **claims}
            token = jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)
            self._answer(200, json.dumps({"token": token}).encode())

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--issuer", default=DEFAULT_ISSUER)
    parser.add_argument("--audience", default=DEFAULT_AUDIENCE)
    args = parser.parse_args()
    key = RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "alg": "RS256", "use": "sig"})
    server = ThreadingHTTPServer((args.host, args.port), make_handler(key, args.issuer, args.audience))
    sys.stdout.write(f"jwks test server on http://{args.host}:{args.port}/jwks.json (issuer {args.issuer})\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
