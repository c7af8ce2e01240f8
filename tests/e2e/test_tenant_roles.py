"""Tenant roles end to end: granted from the command line and the People page, enforced with real actions,
revoked, and every change in the audit trail."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import httpx
import pytest

from tests.support.admin import AdminSession, issue_from_ui, upload_file
from tests.support.dists import build_wheel
from tests.support.server import RunningRegistry

pytestmark = pytest.mark.e2e

ADMIN = ("boss@roles.test", "boss-password-1")
WHEEL = "kite-1.0.0-py3-none-any.whl"
PROJECT = "/admin/t/roleco/packages/kite"
_ROW = re.compile(r"<tr>\s*<td>([^<]+)</td>\s*<td class=\"role\">([^<]+)</td>")


def _json(registry: RunningRegistry, *args: str) -> Any:
    return json.loads(registry.cli(*args, "--json").stdout)


def _people(session: AdminSession) -> list[tuple[str, str]]:
    page = session.get("/admin/t/roleco/people")
    assert page.status_code == 200, page.text
    return _ROW.findall(page.text)


def _audit_rows(session: AdminSession, action: str) -> list[str]:
    page = session.get(f"/admin/t/roleco/audit?action={action}")
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr>(.*?)</tr>", page.text, re.S)[1:]
    return [html.unescape(" ".join(re.sub(r"<[^>]+>", " ", row).split())) + " " for row in rows]


def _login(registry: RunningRegistry, email: str, password: str) -> AdminSession:
    session = AdminSession(registry)
    assert session.login(email, password).status_code == 303, email
    return session


@pytest.fixture(scope="module")
def roleco(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> RunningRegistry:
    registry.create_tenant("roleco", "--admin-email", ADMIN[0], "--admin-password", ADMIN[1])
    registry.create_tenant("otherco")
    token = registry.issue_token("roleco", "publish", name="ci")
    upload_file(
        registry, "roleco", token, build_wheel(tmp_path_factory.mktemp("dist"), "kite", "1.0.0"), "kite", "1.0.0"
    )
    return registry


def test_grant_and_revoke_role_from_the_command_line(roleco: RunningRegistry) -> None:
    granted = _json(
        roleco, "grant-role", "--tenant", "roleco", "--email", "Mia@Roles.test", "--role", "auditor",
        "--password", "mia-password-1",
    )  # fmt: skip
    assert granted == {
        "tenant": "roleco",
        "email": "mia@roles.test",
        "role": "auditor",
        "previous": None,
        "account_created": True,
    }
    changed = _json(roleco, "grant-role", "--tenant", "roleco", "--email", "mia@roles.test", "--role", "maintainer")
    assert (changed["role"], changed["previous"], changed["account_created"]) == ("maintainer", "auditor", False)
    assert _json(roleco, "list-people", "--tenant", "roleco") == [
        {"email": "boss@roles.test", "role": "admin"},
        {"email": "mia@roles.test", "role": "maintainer"},
    ]
    assert roleco.cli("list-people", "--tenant", "otherco").stdout == ""

    revoked = roleco.cli("revoke-role", "--tenant", "roleco", "--email", "mia@roles.test")
    assert revoked.stdout == "mia@roles.test no longer has a role in tenant roleco (was maintainer)\n"
    again = roleco.cli("revoke-role", "--tenant", "roleco", "--email", "mia@roles.test", check=False)
    assert again.returncode == 1
    assert again.stderr.startswith("error: mia@roles.test has no role in tenant 'roleco' in SQLite database ")

    boss = _login(roleco, *ADMIN)
    grants = _audit_rows(boss, "role.grant")
    assert len(grants) == 2 and all(" cli " in row and "user:mia@roles.test" in row for row in grants)
    assert "previous=auditor" in grants[0] and "role=maintainer" in grants[0]
    assert "account=created" in grants[1] and "role=auditor" in grants[1]
    [revoke] = _audit_rows(boss, "role.revoke")
    assert "user:mia@roles.test" in revoke and "role=maintainer" in revoke


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "roleco", "--email", "new@roles.test", "--role", "auditor"], "error: new@roles.test has no "
         "account yet: give a password (at least 8 characters)\n"),
        (["--tenant", "roleco", "--email", "nobody", "--role", "auditor"], "error: 'nobody' is not an email address\n"),
        (["--tenant", "nowhere", "--email", "a@roles.test", "--role", "auditor"], "error: tenant 'nowhere' does not "
         "exist"),
        (["--tenant", "roleco", "--email", "admin@pyregistry.local", "--role", "auditor"], "error: "
         "admin@pyregistry.local is the superadmin, who may do everything in every tenant\n"),
    ],
)  # fmt: skip
def test_grant_role_refusals_store_nothing(roleco: RunningRegistry, args: list[str], message: str) -> None:
    before = roleco.cli("list-people", "--tenant", "roleco").stdout
    refused = roleco.cli("grant-role", *args, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith(message)
    assert roleco.cli("list-people", "--tenant", "roleco").stdout == before
    wrong_role = roleco.cli("grant-role", *args[:4], "--role", "owner", check=False)
    assert wrong_role.returncode == 2 and "'owner' is not one of 'admin', 'maintainer', 'auditor'" in wrong_role.stderr


def test_people_page_adds_people_whose_roles_are_enforced(roleco: RunningRegistry) -> None:
    boss = _login(roleco, *ADMIN)
    added = boss.post(
        "/admin/t/roleco/people", {"email": "max@roles.test", "role": "maintainer", "password": "max-password-1"}
    )
    assert added.status_code == 303 and added.headers["location"] == "/admin/t/roleco/people"
    audited = boss.post(
        "/admin/t/roleco/people", {"email": "ann@roles.test", "role": "auditor", "password": "ann-password-1"}
    )
    assert audited.status_code == 303
    assert ("max@roles.test", "maintainer") in _people(boss) and ("ann@roles.test", "auditor") in _people(boss)

    forged = boss.post(
        "/admin/t/roleco/people", {"email": "eve@roles.test", "role": "admin", "password": "x" * 9}, csrf=""
    )
    assert forged.status_code == 403 and "CSRF token missing" in forged.text
    own = boss.post("/admin/t/roleco/people", {"email": ADMIN[0], "role": "auditor"})
    assert own.status_code == 400
    assert "you cannot change your own role; ask another admin of this tenant" in html.unescape(own.text)
    short = boss.post("/admin/t/roleco/people", {"email": "eve@roles.test", "role": "admin", "password": "short"})
    assert short.status_code == 400 and "password must have at least 8 characters" in short.text
    assert [email for email, _ in _people(boss)] == ["ann@roles.test", "boss@roles.test", "max@roles.test"]

    ann = _login(roleco, "ann@roles.test", "ann-password-1")
    page = ann.get(PROJECT)
    assert page.status_code == 200 and WHEEL in page.text
    assert "/yank" not in page.text and "/purge" not in page.text
    yank = ann.post(f"{PROJECT}/releases/1.0.0/yank", {"reason": "no"})
    assert yank.status_code == 403
    assert "your role in roleco (auditor) does not allow releases.yank" in html.unescape(yank.text)
    nav = ann.get("/admin/t/roleco/packages").text
    assert "/admin/t/roleco/audit" in nav and "/admin/t/roleco/tokens" not in nav and "/people" not in nav
    assert ann.get("/admin/t/otherco/packages").status_code == 403

    max_ = _login(roleco, "max@roles.test", "max-password-1")
    page = max_.get(PROJECT).text
    assert "/releases/1.0.0/yank" in page and "/purge" not in page
    assert "/mirroring" not in max_.get("/admin/t/roleco/packages").text
    secret, _ = issue_from_ui(max_, "roleco", {"name": "max-ci", "scope_read": "on"})
    simple = httpx.get(roleco.index_url("roleco") + "kite/", auth=("__token__", secret), timeout=30)
    assert simple.status_code == 200 and WHEEL in simple.text
    purge = max_.post(f"{PROJECT}/files/{WHEEL}/purge")
    assert purge.status_code == 403
    assert "your role in roleco (maintainer) does not allow releases.purge" in html.unescape(purge.text)
    assert WHEEL in max_.get(PROJECT).text
    mirroring = max_.post("/admin/t/roleco/mirroring", {"enabled": "true"})
    assert mirroring.status_code == 403
    tenants = {tenant["slug"]: tenant for tenant in _json(roleco, "list-tenants")}
    assert tenants["roleco"]["mirroring_enabled"] is False
    assert max_.post(f"{PROJECT}/releases/1.0.0/yank", {"reason": "bad build"}).status_code == 303
    assert "data-yanked" in httpx.get(roleco.index_url("roleco") + "kite/", auth=("__token__", secret)).text

    removed = boss.post("/admin/t/roleco/people/revoke", {"email": "max@roles.test"})
    assert removed.status_code == 303
    gone = max_.get(PROJECT)
    assert gone.status_code == 403 and "you have no role in this tenant" in gone.text
    grants = _audit_rows(boss, "role.grant")
    assert any(f" {ADMIN[0]} " in row and "user:max@roles.test" in row and "role=maintainer" in row for row in grants)
    [revoke] = [row for row in _audit_rows(boss, "role.revoke") if "user:max@roles.test" in row]
    assert f" {ADMIN[0]} " in revoke and "role=maintainer" in revoke


def test_revoke_sessions_signs_someone_out_everywhere(roleco: RunningRegistry) -> None:
    roleco.cli(
        "grant-role", "--tenant", "roleco", "--email", "sam@roles.test", "--role", "auditor",
        "--password", "sam-password-1",
    )  # fmt: skip
    laptop, phone = (_login(roleco, "sam@roles.test", "sam-password-1") for _ in range(2))
    boss = _login(roleco, *ADMIN)
    assert laptop.get(PROJECT).status_code == 200 and phone.get(PROJECT).status_code == 200

    assert _json(roleco, "revoke-sessions", "--email", "Sam@roles.test") == {"email": "sam@roles.test", "revoked": 2}
    for session in (laptop, phone):
        gone = session.get(PROJECT)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/admin/login?next=")
    assert boss.get(PROJECT).status_code == 200
    again = roleco.cli("revoke-sessions", "--email", "sam@roles.test")
    assert again.stdout == "revoked 0 admin sessions of sam@roles.test\n"
    unknown = roleco.cli("revoke-sessions", "--email", "ghost@roles.test", check=False)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: there is no account 'ghost@roles.test'")
    revoked = _login(roleco, "sam@roles.test", "sam-password-1")
    assert revoked.get(PROJECT).status_code == 200
    superadmin = _login(roleco, "admin@pyregistry.local", "admin-password-for-tests")
    audit = superadmin.get("/admin/audit?action=admin.sessions.revoke").text
    assert "user:sam@roles.test" in audit and "sessions=2" in audit and "sessions=0" in audit
