"""Signing in to the admin UI with OpenID Connect: headless Chromium through the whole redirect dance against a real
provider process on loopback (``oidc-provider-mock``), roles from its group claim, and the refusals."""

from __future__ import annotations

import html
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from pyregistry_domain.errors import InvalidToken
from pyregistry_infrastructure.oidc.jwks import JwksCache
from pyregistry_infrastructure.oidc.signed_tokens import ExpectedIssuer, verified_claims
from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession
from tests.support.issuer_proxy import foreign_issuer_proxy
from tests.support.oidc_mock import MockProvider, running_provider
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (bash .ci/run installs it)", allow_module_level=True)

from playwright.sync_api import Browser, Page, Route, sync_playwright  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
CLIENT_ID = "pyregistry-admin"
ALICE = {"sub": "alice", "email": "alice@corp.test", "groups": ["acme-devs"]}
BOB = {"sub": "bob", "email": "bob@corp.test", "groups": ["kitchen"]}
GROUP_ROLES = [
    {"group": "acme-devs", "tenant": "acme", "role": "maintainer"},
    {"group": "acme-audit", "tenant": "acme", "role": "auditor"},
    {"group": "globex-admins", "tenant": "globex", "role": "admin"},
]


class Providers:
    def __init__(self, corp: MockProvider, stale: MockProvider, posing: str) -> None:
        self.corp = corp
        self.stale = stale
        self.posing = MockProvider(issuer=posing)


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Providers]:
    logs = tmp_path_factory.mktemp("oidc")
    with (
        running_provider(logs, [ALICE, BOB]) as corp,
        running_provider(logs, [ALICE], token_max_age=-600) as stale,
        foreign_issuer_proxy(corp.issuer) as posing,
    ):
        yield Providers(corp, stale, posing)


def _provider_config(name: str, provider: MockProvider) -> dict[str, object]:
    return {
        "name": name,
        "display_name": name.title(),
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": "client-secret-for-tests",
        "group_roles": GROUP_ROLES,
    }


@pytest.fixture(scope="module")
def registry_with_sso(providers: Providers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    config = [
        _provider_config("corp", providers.corp),
        _provider_config("stale", providers.stale),
        _provider_config("posing", providers.posing),
    ]
    server = start_registry(tmp_path_factory.mktemp("sso"), {"WEB_UI_OIDC_PROVIDERS": json.dumps(config)})
    try:
        server.create_tenant("acme")
        server.create_tenant("globex")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def _to_provider(page: Page, registry: RunningRegistry, provider: str = "corp") -> str:
    """Open the login page, click the provider's button and return the provider's authorization URL."""
    page.goto(registry.base_url + "/admin/login?next=/admin/t/acme/packages")
    page.click(f"#sign-in-{provider}")
    page.wait_for_selector("text=Authorize Client")
    return page.url


def _callback_held_back(page: Page, subject: str) -> str:
    """Pick ``subject`` at the provider but keep the browser from following its redirect; return the callback URL
    the provider sent."""
    seen: list[str] = []

    def hold(route: Route) -> None:
        answer = route.fetch(max_redirects=0)
        seen.append(answer.headers["location"])
        route.fulfill(status=200, body="held back")

    page.route("**/oauth2/authorize*", hold)
    page.click(f"button[name=sub][value={subject}]")
    page.wait_for_selector("text=held back")
    page.unroute("**/oauth2/authorize*")
    assert len(seen) == 1 and "/admin/oidc/" in seen[0], seen
    return seen[0]


def _message(page: Page) -> str:
    return html.unescape(page.inner_text("#error-message"))


def _audit(registry: RunningRegistry, action: str) -> str:
    admin = AdminSession(registry)
    assert admin.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
    return html.unescape(admin.get(f"/admin/audit?action={action}").text)


def test_sign_in_maps_groups_to_roles_and_logs_out(
    page: Page, registry_with_sso: RunningRegistry, providers: Providers
) -> None:
    authorize = _to_provider(page, registry_with_sso)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(providers.corp.issuer + "/oauth2/authorize?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["client_id"] == [CLIENT_ID] and query["scope"] == ["openid email profile"]
    assert query["redirect_uri"] == [registry_with_sso.base_url + "/admin/oidc/corp/callback"]
    assert query["state"][0] and query["nonce"][0] and query["state"] != query["nonce"]

    page.click("button[name=sub][value=alice]")
    page.wait_for_url(registry_with_sso.base_url + "/admin/t/acme/packages")
    assert page.inner_text("h1").strip() != ""
    people = registry_with_sso.cli("list-people", "--tenant", "acme", "--json").stdout
    assert json.loads(people) == [{"email": "alice@corp.test", "role": "maintainer"}]
    page.goto(registry_with_sso.base_url + "/admin/t/acme/people")
    assert _message(page) == "your role in acme (maintainer) does not allow tenant.people"
    page.goto(registry_with_sso.base_url + "/admin/t/globex/packages")
    assert _message(page) == "you have no role in this tenant"

    page.goto(registry_with_sso.base_url + "/admin/dashboard")
    page.click("form[action='/admin/logout'] button")
    page.wait_for_url("**/admin/login")
    page.goto(registry_with_sso.base_url + "/admin/t/acme/packages")
    assert "/admin/login?next=" in page.url

    providers.corp.set_claims("alice", {"email": "alice@corp.test", "groups": ["acme-audit", "globex-admins"]})
    _to_provider(page, registry_with_sso)
    page.click("button[name=sub][value=alice]")
    page.wait_for_url(registry_with_sso.base_url + "/admin/t/acme/packages")
    acme = json.loads(registry_with_sso.cli("list-people", "--tenant", "acme", "--json").stdout)
    globex = json.loads(registry_with_sso.cli("list-people", "--tenant", "globex", "--json").stdout)
    assert acme == [{"email": "alice@corp.test", "role": "auditor"}]
    assert globex == [{"email": "alice@corp.test", "role": "admin"}]
    providers.corp.set_claims("alice", {"email": "alice@corp.test", "groups": ["acme-devs"]})

    logins = _audit(registry_with_sso, "admin.login.oidc")
    assert logins.count("alice@corp.test") == 2 and "provider=corp" in logins
    grants = _audit(registry_with_sso, "role.grant")
    assert "oidc:corp" in grants and "previous=maintainer" in grants and "role=auditor" in grants


def test_user_in_no_mapped_group_is_refused(page: Page, registry_with_sso: RunningRegistry) -> None:
    _to_provider(page, registry_with_sso)
    page.click("button[name=sub][value=bob]")
    page.wait_for_load_state()
    assert _message(page) == "sign-in refused: you are in no group that maps to a tenant role"
    page.goto(registry_with_sso.base_url + "/admin/dashboard")
    assert "/admin/login?next=" in page.url
    assert "bob@corp.test" not in registry_with_sso.cli("list-people", "--tenant", "acme").stdout
    refused = _audit(registry_with_sso, "admin.login.refused")
    assert "bob@corp.test" in refused and "you are in no group that maps to a tenant role" in refused


def test_wrong_state_is_refused(page: Page, registry_with_sso: RunningRegistry) -> None:
    _to_provider(page, registry_with_sso)
    callback = _callback_held_back(page, "alice")
    query = parse_qs(urlsplit(callback).query)
    forged = {"code": query["code"][0], "state": "not-the-state-" + query["state"][0][:10]}
    page.goto(callback.split("?")[0] + "?" + urlencode(forged))
    assert _message(page) == "sign-in refused: the state does not match the sign-in this browser started"
    page.goto(registry_with_sso.base_url + "/admin/dashboard")
    assert "/admin/login?next=" in page.url


def test_replayed_code_is_refused(page: Page, registry_with_sso: RunningRegistry) -> None:
    _to_provider(page, registry_with_sso)
    first = _callback_held_back(page, "alice")
    page.goto(first)
    page.wait_for_url(registry_with_sso.base_url + "/admin/t/acme/packages")

    page.goto(first)
    assert _message(page) == "sign-in refused: no sign-in with this provider was started in this browser"

    authorize = _to_provider(page, registry_with_sso)
    fresh_state = parse_qs(urlsplit(authorize).query)["state"][0]
    old_code = parse_qs(urlsplit(first).query)["code"][0]
    page.goto(first.split("?")[0] + "?" + urlencode({"code": old_code, "state": fresh_state}))
    assert _message(page) == "sign-in refused: the provider refused the authorization code (invalid_grant)"


def test_expired_id_token_is_refused(page: Page, registry_with_sso: RunningRegistry) -> None:
    _to_provider(page, registry_with_sso, "stale")
    page.click("button[name=sub][value=alice]")
    page.wait_for_load_state()
    assert _message(page) == "sign-in refused: the token has expired (exp)"
    assert "the token has expired (exp)" in _audit(registry_with_sso, "admin.login.refused")


def test_id_token_of_another_issuer_is_refused(page: Page, registry_with_sso: RunningRegistry) -> None:
    """The "posing" provider's discovery names its own address, but its ID tokens come from the corp issuer."""
    _to_provider(page, registry_with_sso, "posing")
    page.click("button[name=sub][value=alice]")
    page.wait_for_load_state()
    assert _message(page) == "sign-in refused: issuer mismatch"


def test_local_passwords_can_be_turned_off(providers: Providers, tmp_path: Path, page: Page) -> None:
    config = [_provider_config("corp", providers.corp)]
    env = {"WEB_UI_OIDC_PROVIDERS": json.dumps(config), "WEB_UI_LOCAL_PASSWORDS": "false"}
    server = start_registry(tmp_path / "sso-only", env)
    try:
        page.goto(server.base_url + "/admin/login")
        assert page.locator("input[name=password]").count() == 0
        assert page.inner_text("#sign-in-corp") == "Sign in with Corp"
        form = {"email": SUPERADMIN_EMAIL, "password": SUPERADMIN_PASSWORD}
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            refused = client.post("/admin/login", data=form)
            assert refused.status_code == 403
            assert "Local passwords are turned off: sign in with your identity provider." in refused.text
            after = client.get("/admin/dashboard")
            assert after.status_code == 303 and after.headers["location"].startswith("/admin/login?next=")
    finally:
        server.stop()


def test_foreign_issuer_id_tokens_are_refused(providers: Providers) -> None:
    """A genuine ID token of one provider never passes as another's: neither its key nor its issuer fit."""
    redirect = "http://127.0.0.1:9/admin/oidc/corp/callback"
    foreign = providers.stale.id_token("alice", CLIENT_ID, redirect)
    jwks = JwksCache()
    corp = ExpectedIssuer(issuer=providers.corp.issuer, jwks_url=providers.corp.issuer + "/jwks", audience=CLIENT_ID)
    with pytest.raises(InvalidToken) as wrong_key:
        verified_claims(foreign, corp, jwks, now=time.time(), leeway=60, require_kid=False)
    assert wrong_key.value.message == "signature verification failed"
    posing = ExpectedIssuer(issuer=providers.corp.issuer, jwks_url=providers.stale.issuer + "/jwks", audience=CLIENT_ID)
    with pytest.raises(InvalidToken) as wrong_issuer:
        verified_claims(foreign, posing, jwks, now=time.time(), leeway=60, require_kid=False)
    assert wrong_issuer.value.message == "issuer mismatch"
    genuine = providers.corp.id_token("alice", CLIENT_ID, redirect)
    other_client = ExpectedIssuer(issuer=providers.corp.issuer, jwks_url=corp.jwks_url, audience="someone-else")
    with pytest.raises(InvalidToken) as wrong_audience:
        verified_claims(genuine, other_client, jwks, now=time.time(), leeway=60, require_kid=False)
    assert wrong_audience.value.message == "wrong audience: the token must be requested for audience 'someone-else'"
    claims = verified_claims(genuine, corp, jwks, now=time.time(), leeway=60, require_kid=False)
    assert (claims["sub"], claims["email"], claims["groups"]) == ("alice", "alice@corp.test", ["acme-devs"])


def test_leaving_the_group_ends_the_roles_of_open_sessions_at_the_next_sign_in(
    page: Page, browser: Browser, registry_with_sso: RunningRegistry, providers: Providers
) -> None:
    providers.corp.set_claims("carol", {"email": "carol@corp.test", "groups": ["acme-devs"]})
    _to_provider(page, registry_with_sso)
    page.fill("input[name=sub]", "carol")
    page.click("button:text-is('Authorize')")
    page.wait_for_url(registry_with_sso.base_url + "/admin/t/acme/packages")

    providers.corp.set_claims("carol", {"email": "carol@corp.test", "groups": ["kitchen"]})
    other = browser.new_context()
    try:
        second = other.new_page()
        _to_provider(second, registry_with_sso)
        second.fill("input[name=sub]", "carol")
        second.click("button:text-is('Authorize')")
        second.wait_for_load_state()
        assert _message(second) == "sign-in refused: you are in no group that maps to a tenant role"
    finally:
        other.close()
    page.goto(registry_with_sso.base_url + "/admin/t/acme/packages")
    assert _message(page) == "you have no role in this tenant"
    revoked = _audit(registry_with_sso, "role.revoke")
    assert "user:carol@corp.test" in revoked and "oidc:corp" in revoked and "role=maintainer" in revoked
