"""Security helpers of the admin UI: session key derivation and the HTML security-header middleware."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import get

from pyregistry_domain.roles import Permission
from pyregistry_web.admin.csrf import derive_session_key, html_security_headers
from pyregistry_web.admin.route_access import Access, needs
from pyregistry_web.admin.router import require_declared_rules


@pytest.mark.slow
def test_session_key_is_32_bytes_and_stable_for_any_secret_length() -> None:
    for secret in ("short", "x" * 16, "y" * 200):
        key = derive_session_key(secret)
        assert len(key) == 32
        assert key == derive_session_key(secret)
    assert derive_session_key("one") != derive_session_key("two")


async def _cookie_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"set-cookie", b"s=1; HttpOnly")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _run(scheme: str, *headers: tuple[bytes, bytes], **options: bool) -> dict[bytes, bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "scheme": scheme, "path": "/admin/login", "headers": list(headers)}
    asyncio.run(html_security_headers(_cookie_app, **options)(scope, receive, send))  # type: ignore[arg-type]
    return dict(sent[0]["headers"])


def test_headers_on_html_pages_and_secure_cookie_only_over_https() -> None:
    plain = _run("http")
    assert b"frame-ancestors 'none'" in plain[b"content-security-policy"]
    assert b"unsafe-inline" not in plain[b"content-security-policy"]
    assert plain[b"x-content-type-options"] == b"nosniff"
    assert plain[b"set-cookie"] == b"s=1; HttpOnly"
    assert _run("https")[b"set-cookie"] == b"s=1; HttpOnly; Secure"


def test_secure_cookie_when_configured_or_when_a_trusted_proxy_says_https() -> None:
    proxied = (b"x-forwarded-proto", b"https")
    assert _run("http", always_secure=True)[b"set-cookie"] == b"s=1; HttpOnly; Secure"
    assert _run("http", proxied, trust_forwarded_proto=True)[b"set-cookie"] == b"s=1; HttpOnly; Secure"
    assert _run("http", (b"forwarded", b"proto=https"), trust_forwarded_proto=True)[b"set-cookie"].endswith(b"Secure")
    assert _run("http", proxied)[b"set-cookie"] == b"s=1; HttpOnly"
    assert _run("http", trust_forwarded_proto=True)[b"set-cookie"] == b"s=1; HttpOnly"


def test_admin_routes_must_declare_what_they_need() -> None:
    @get("/declared", opt=needs(Access.SIGNED_IN))
    async def declared() -> str:
        return "ok"

    @get("/forgotten", name="forgotten")
    async def forgotten() -> str:
        return "no"

    require_declared_rules([declared])
    with pytest.raises(ValueError) as refused:
        require_declared_rules([declared, forgotten])
    assert str(refused.value).startswith("admin routes without a declared permission (opt=needs(...)): ")
    assert str(refused.value).endswith("forgotten")

    @get("/t/{tenant:str}/things", opt=needs(Permission.VIEW))
    async def scoped() -> str:
        return "ok"

    @get("/things", name="unscoped", opt=needs(Permission.VIEW))
    async def unscoped() -> str:
        return "no"

    require_declared_rules([scoped])
    with pytest.raises(ValueError) as tenantless:
        require_declared_rules([scoped, unscoped])
    assert str(tenantless.value) == "admin routes with a tenant permission but no {tenant} in the path: unscoped"
