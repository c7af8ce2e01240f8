"""Driving the admin UI over HTTP like a browser would: a cookie session, CSRF tokens read from the pages."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.dists import sha256_of
from tests.support.server import RunningRegistry

__all__ = ["SUPERADMIN_EMAIL", "SUPERADMIN_PASSWORD", "AdminSession", "issue_from_ui", "upload_file"]

SUPERADMIN_EMAIL = "admin@pyregistry.local"
SUPERADMIN_PASSWORD = "admin-password-for-tests"
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_SECRET_RE = re.compile(r'id="token-secret" class="secret">([^<]+)<')


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match is not None, "page has no CSRF field"
    return match.group(1)


class AdminSession:
    """An httpx client holding one admin session cookie."""

    def __init__(self, registry: RunningRegistry) -> None:
        self.client = httpx.Client(base_url=registry.base_url, timeout=30)
        self.csrf = ""

    def login(self, email: str, password: str) -> httpx.Response:
        self.csrf = csrf_from(self.client.get("/admin/login").text)
        response = self.client.post(
            "/admin/login", data={"email": email, "password": password, "csrf_token": self.csrf}
        )
        if response.status_code == 303:
            self.csrf = csrf_from(self.client.get("/admin/dashboard").text)
        return response

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: str | None = None) -> httpx.Response:
        """POST a form with the session's CSRF token (or ``csrf`` instead; ``""`` sends none)."""
        form = dict(data or {})
        token = self.csrf if csrf is None else csrf
        if token:
            form["csrf_token"] = token
        return self.client.post(path, data=form)


def issue_from_ui(session: AdminSession, tenant: str, form: dict[str, str]) -> tuple[str, str]:
    """Issue a token with the admin form; return the secret the tokens page shows once after the redirect and that
    page's HTML."""
    issued = session.post(f"/admin/t/{tenant}/tokens", form)
    assert issued.status_code == 303 and issued.headers["location"] == f"/admin/t/{tenant}/tokens", issued.text
    page = session.get(f"/admin/t/{tenant}/tokens")
    assert page.status_code == 200, page.text
    match = _SECRET_RE.search(page.text)
    assert match is not None, "the tokens page shows no new secret"
    return match.group(1), page.text


def upload_file(registry: RunningRegistry, tenant: str, token: str, path: Path, name: str, version: str) -> None:
    """A legacy upload with httpx (the same form twine sends)."""
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if path.suffix == ".whl" else "sdist",
        "sha256_digest": sha256_of(path),
    }
    with path.open("rb") as handle:
        response = httpx.post(
            registry.upload_url(tenant),
            data=fields,
            files={"content": (path.name, handle, "application/octet-stream")},
            auth=("__token__", token),
            timeout=60,
        )
    assert response.status_code == 200, response.text
