"""Every admin route against every role, over HTTP against a real server.

The route table comes from the routes the admin router registers: a route this file does not list (with who may
use it and a harmless request to send) fails ``test_every_registered_admin_route_is_in_the_table``, and its
allowed/refused cases cannot be generated without an entry. Allowed requests are chosen so the handler answers
without changing anything (a missing release, an empty form); refused ones must store nothing either.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from litestar import Router
from litestar.routes import HTTPRoute

from pyregistry_web.admin.route_access import declared_rule
from pyregistry_web.admin.router import admin_handlers
from pyregistry_web.options import WebOptions
from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, upload_file
from tests.support.dists import build_wheel
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e

PASSWORDS = {
    "admin": ("admin@acme.test", "acme-admin-password"),
    "maintainer": ("maintainer@acme.test", "maintainer-password"),
    "auditor": ("auditor@acme.test", "auditor-password"),
    "outsider": ("admin@globex.test", "globex-admin-password"),
}
ACTORS = ("anonymous", "superadmin", "admin", "maintainer", "auditor", "outsider")
ROLE_OF = {"admin": "admin", "maintainer": "maintainer", "auditor": "auditor"}

EVERYONE = frozenset(ACTORS)
SIGNED_IN = EVERYONE - {"anonymous"}
SUPERADMIN = frozenset({"superadmin"})
VIEWERS = frozenset({"superadmin", "admin", "maintainer", "auditor"})
MAINTAINERS = frozenset({"superadmin", "admin", "maintainer"})
ADMINS = frozenset({"superadmin", "admin"})

P = "/admin/t/acme/packages/rocket"
WHEEL = "rocket-1.0.0-py3-none-any.whl"


class Probe(NamedTuple):
    """Who may use a route, a request to send, and the handler's answer when allowed (status and a text in it)."""

    allowed: frozenset[str]
    method: str
    path: str
    form: dict[str, str]
    status: int
    text: str
    permission: str


ROUTES: dict[str, Probe] = {
    "admin-root": Probe(EVERYONE, "GET", "/admin/", {}, 303, "", "public"),
    "admin-login": Probe(EVERYONE, "GET", "/admin/login", {}, 200, 'name="password"', "public"),
    "admin-login-submit": Probe(
        EVERYONE,
        "POST",
        "/admin/login",
        {"email": "{actor}@nowhere.test", "password": "x"},
        401,
        "Wrong email",
        "public",
    ),
    "admin-logout": Probe(EVERYONE, "POST", "/admin/logout", {"csrf_token": "wrong"}, 403, "CSRF token", "public"),
    "admin-oidc-start": Probe(EVERYONE, "GET", "/admin/oidc/corp/start", {}, 403, "is not configured", "public"),
    "admin-oidc-callback": Probe(
        EVERYONE, "GET", "/admin/oidc/corp/callback?state=s&code=c", {}, 403, "is not configured", "public"
    ),
    "admin-dashboard": Probe(SIGNED_IN, "GET", "/admin/dashboard", {}, 200, "<h1>Dashboard", "signed-in"),
    "admin-search": Probe(SIGNED_IN, "GET", "/admin/search?q=rocket", {}, 200, 'name="q"', "signed-in"),
    "admin-create-tenant": Probe(SUPERADMIN, "POST", "/admin/tenants", {"slug": ""}, 400, "slug", "superadmin"),
    "admin-audit": Probe(SUPERADMIN, "GET", "/admin/audit", {}, 200, "Audit", "superadmin"),
    "admin-jobs": Probe(SUPERADMIN, "GET", "/admin/jobs", {}, 200, "Background jobs", "superadmin"),
    "admin-jobs-retry": Probe(
        SUPERADMIN, "POST", "/admin/jobs/no-such-job/retry", {}, 404, "durable job table is off", "superadmin"
    ),
    "admin-packages": Probe(VIEWERS, "GET", "/admin/t/acme/packages", {}, 200, "rocket", "tenant.view"),
    "admin-project": Probe(VIEWERS, "GET", P, {}, 200, WHEEL, "tenant.view"),
    "admin-wheel-scan": Probe(VIEWERS, "GET", f"{P}/files/{WHEEL}/scan", {}, 200, WHEEL, "tenant.view"),
    "admin-tenant-audit": Probe(VIEWERS, "GET", "/admin/t/acme/audit", {}, 200, "Audit", "tenant.view"),
    "admin-yank": Probe(
        MAINTAINERS, "POST", f"{P}/releases/9.9/yank", {}, 404, "release rocket 9.9 does not exist", "releases.yank"
    ),
    "admin-unyank": Probe(
        MAINTAINERS, "POST", f"{P}/releases/9.9/unyank", {}, 404, "release rocket 9.9 does not exist", "releases.yank"
    ),
    "admin-project-status": Probe(
        ADMINS, "POST", f"{P}/status", {"status": "bogus"}, 400, "unknown project status", "projects.status"
    ),
    "admin-mirror-release-file": Probe(
        ADMINS, "POST", f"{P}/files/none.whl/release", {}, 400, "a reason is required", "mirror.release"
    ),
    "admin-mirror-release-held": Probe(
        ADMINS,
        "POST",
        f"{P}/releases/9.9/release-held",
        {},
        400,
        "a reason is required to release a version held by provenance continuity",
        "mirror.release",
    ),
    "admin-purge-release": Probe(
        ADMINS, "POST", f"{P}/releases/9.9/purge", {}, 404, "release rocket 9.9 does not exist", "releases.purge"
    ),
    "admin-purge-file": Probe(
        ADMINS, "POST", f"{P}/files/none.whl/purge", {}, 404, "file 'none.whl' does not exist", "releases.purge"
    ),
    "admin-purge-project": Probe(
        ADMINS, "POST", "/admin/t/acme/packages/none/purge", {}, 404, "project 'none' does not exist", "releases.purge"
    ),
    "admin-tokens": Probe(MAINTAINERS, "GET", "/admin/t/acme/tokens", {}, 200, "Issue a token", "tokens.manage"),
    "admin-issue-token": Probe(
        MAINTAINERS, "POST", "/admin/t/acme/tokens", {"name": ""}, 400, 'id="issue-error"', "tokens.manage"
    ),
    "admin-revoke-token": Probe(
        MAINTAINERS, "POST", "/admin/t/acme/tokens/none/revoke", {}, 404, "none", "tokens.manage"
    ),
    "admin-mirroring": Probe(
        ADMINS, "POST", "/admin/t/acme/mirroring", {"enabled": "false"}, 303, "", "tenant.settings"
    ),
    "admin-mirror-refresh": Probe(
        MAINTAINERS, "POST", "/admin/t/acme/mirror/refresh", {}, 404, "not have mirroring enabled", "mirror.refresh"
    ),
    "admin-mirror-refresh-project": Probe(
        MAINTAINERS, "POST", f"{P}/mirror/refresh", {}, 404, "not have mirroring enabled", "mirror.refresh"
    ),
    "admin-add-publisher": Probe(
        MAINTAINERS, "POST", f"{P}/publishers", {"provider": "nope"}, 400, "Publisher not added", "publishers.manage"
    ),
    "admin-remove-publisher": Probe(
        MAINTAINERS, "POST", f"{P}/publishers/none/remove", {}, 404, "publisher 'none'", "publishers.manage"
    ),
    "admin-release-policy": Probe(VIEWERS, "GET", "/admin/t/acme/policy", {}, 200, "min_release_age", "tenant.view"),
    "admin-set-release-policy": Probe(
        ADMINS, "POST", "/admin/t/acme/policy", {"min_release_age": "soon"}, 400, "invalid duration", "tenant.settings"
    ),
    "admin-approve-release": Probe(
        ADMINS,
        "POST",
        "/admin/t/acme/policy/approvals",
        {"project": "rocket"},
        400,
        "a reason is required",
        "tenant.settings",
    ),
    "admin-revoke-approval": Probe(
        ADMINS,
        "POST",
        "/admin/t/acme/policy/approvals/none/revoke",
        {},
        404,
        "approval 'none' does not exist",
        "tenant.settings",
    ),
    "admin-people": Probe(ADMINS, "GET", "/admin/t/acme/people", {}, 200, "maintainer@acme.test", "tenant.people"),
    "admin-grant-role": Probe(
        ADMINS, "POST", "/admin/t/acme/people", {"email": "", "role": "auditor"}, 400, "not an email", "tenant.people"
    ),
    "admin-revoke-role": Probe(
        ADMINS,
        "POST",
        "/admin/t/acme/people/revoke",
        {"email": "nobody@acme.test"},
        404,
        "nobody@acme.test has no role in tenant 'acme'",
        "tenant.people",
    ),
}


def registered_admin_routes() -> dict[str, tuple[str, str]]:
    """Route name -> (methods, declared rule) for every route the admin router registers."""
    options = WebOptions(spool_dir=Path("/nonexistent"))
    found: dict[str, tuple[str, str]] = {}
    for item in admin_handlers(options):
        if not isinstance(item, Router) or item.path != "/admin":
            continue
        for route in item.routes:
            assert isinstance(route, HTTPRoute)
            for handler in route.route_handlers:
                if handler.http_methods == {"OPTIONS"}:
                    continue  # Litestar's automatic answer listing the path's methods
                rule = declared_rule(handler)
                found[str(handler.name)] = (",".join(sorted(handler.http_methods)), rule.value if rule else "")
    return found


REGISTERED = registered_admin_routes()


def test_every_registered_admin_route_is_in_the_table() -> None:
    assert sorted(REGISTERED) == sorted(ROUTES), "add new admin routes to ROUTES with who may use them"
    for name, (methods, rule) in REGISTERED.items():
        assert rule == ROUTES[name].permission, name
        assert methods == ROUTES[name].method, name


@pytest.fixture(scope="module")
def seeded(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> RunningRegistry:
    registry.create_tenant("acme", "--admin-email", PASSWORDS["admin"][0], "--admin-password", PASSWORDS["admin"][1])
    registry.create_tenant(
        "globex", "--admin-email", PASSWORDS["outsider"][0], "--admin-password", PASSWORDS["outsider"][1]
    )
    for role in ("maintainer", "auditor"):
        email, password = PASSWORDS[role]
        registry.cli("grant-role", "--tenant", "acme", "--email", email, "--role", role, "--password", password)
    publish = registry.issue_token("acme", "publish", name="ci")
    wheel = build_wheel(tmp_path_factory.mktemp("dist"), "rocket", "1.0.0")
    upload_file(registry, "acme", publish, wheel, "rocket", "1.0.0")
    return registry


@pytest.fixture(scope="module")
def sessions(seeded: RunningRegistry) -> Iterator[dict[str, AdminSession]]:
    opened: dict[str, AdminSession] = {}
    for actor in ACTORS:
        session = AdminSession(seeded)
        if actor == "anonymous":
            session.csrf = "anonymous-has-no-token"
        else:
            email, password = (SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD) if actor == "superadmin" else PASSWORDS[actor]
            assert session.login(email, password).status_code == 303, actor
        opened[actor] = session
    yield opened
    for session in opened.values():
        session.client.close()


def _send(session: AdminSession, probe: Probe, actor: str) -> httpx.Response:
    if probe.method == "GET":
        return session.get(probe.path)
    form = {key: value.format(actor=actor) for key, value in probe.form.items()}
    if "csrf_token" in form:
        return session.post(probe.path, form, csrf=form.pop("csrf_token"))
    if probe.path == "/admin/login":
        session.csrf = _login_csrf(session)
    return session.post(probe.path, form)


def _login_csrf(session: AdminSession) -> str:
    page = session.get("/admin/login").text
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def _refusal(actor: str, probe: Probe) -> str:
    if probe.permission == "superadmin":
        return "only the superadmin may do this"
    if actor == "outsider":
        return "you have no role in this tenant"
    return f"your role in acme ({ROLE_OF[actor]}) does not allow {probe.permission}"


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_route_allows_and_refuses_by_role(
    route: str, actor: str, sessions: dict[str, AdminSession], seeded: RunningRegistry
) -> None:
    probe = ROUTES[route]
    response = _send(sessions[actor], probe, actor)
    if actor in probe.allowed:
        assert response.status_code == probe.status, response.text
        assert probe.text in html.unescape(response.text)
    elif actor == "anonymous":
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login?next=")
    else:
        assert response.status_code == 403, response.text
        assert _refusal(actor, probe) in html.unescape(response.text)
