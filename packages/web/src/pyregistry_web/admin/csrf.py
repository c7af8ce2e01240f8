"""CSRF tokens and checks for HTML forms, with the session key derivation and security headers of HTML pages."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from litestar.enums import ScopeType
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from pyregistry_web.client_address import forwarded_https
from pyregistry_web.http_types import AnyConnection, AnyRequest

__all__ = [
    "CSP",
    "CSRF_FIELD",
    "check_csrf",
    "csrf_token",
    "derive_session_key",
    "html_security_headers",
    "new_csrf_token",
    "session_data",
]

CSRF_FIELD = "csrf_token"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
_KDF_SALT = b"pyregistry-admin-session-v1"
_KDF_ITERATIONS = 200_000


def derive_session_key(cookie_secret: str) -> bytes:
    """A 32-byte AES key for the session cookie from a configured secret of any length."""
    if not cookie_secret:
        return secrets.token_bytes(32)
    return hashlib.pbkdf2_hmac("sha256", cookie_secret.encode("utf-8"), _KDF_SALT, _KDF_ITERATIONS, dklen=32)


def new_csrf_token() -> str:
    """A fresh random CSRF token."""
    return secrets.token_urlsafe(32)


def session_data(request: AnyConnection) -> dict[str, Any]:
    """A copy of the request's session values (empty when the request has no session yet)."""
    session = request.scope.get("session")
    return dict(session) if isinstance(session, dict) else {}


def csrf_token(request: AnyRequest) -> str:
    """The session's CSRF token, created (and stored in the session) on first use."""
    token = request.session.get("csrf") if request.scope.get("session") is not None else None
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        session = session_data(request)
        session["csrf"] = token
        request.set_session(session)
    return token


def check_csrf(request: AnyRequest, form: Mapping[str, Any]) -> None:
    """Raise 403 unless the form carries the session's CSRF token."""
    expected = session_data(request).get("csrf")
    sent = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str) or not expected or not sent:
        raise PermissionDeniedException(detail="CSRF token missing: reload the page and try again")
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        raise PermissionDeniedException(detail="CSRF token is wrong: reload the page and try again")


def html_security_headers(app: ASGIApp, *, always_secure: bool = False, trust_forwarded_proto: bool = False) -> ASGIApp:
    """ASGI middleware: CSP, nosniff, no framing, no caching; ``Secure`` cookies when ``always_secure``, when the
    request came over https, or (with ``trust_forwarded_proto``) when the reverse proxy says the client used https."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        secure = always_secure or scope.get("scheme") == "https" or (trust_forwarded_proto and forwarded_https(scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _secure_cookie(value) if secure and name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in _HEADERS if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def _secure_cookie(value: bytes) -> bytes:
    """``value`` with the ``Secure`` attribute (a cookie whose value merely contains "secure" still gets it)."""
    attributes = value.split(b";")[1:]
    if any(attribute.strip().lower() == b"secure" for attribute in attributes):
        return value
    return value + b"; Secure"
