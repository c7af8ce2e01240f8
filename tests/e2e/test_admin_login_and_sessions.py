"""Admin logins against real servers: password spraying and parallel guessing stay within the throttle's limits,
and a logged-out session cookie is refused by every server process sharing the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD, AdminSession, csrf_from
from tests.support.server import RunningRegistry, start_registry

pytestmark = pytest.mark.e2e

ATTACKER = ("mallory@acme.test", "mallory-password")
ADDRESS_FREE_FAILURES = 20
ACCOUNT_AT_ADDRESS_FREE_FAILURES = 3
FIRST_DELAY_SECONDS = 2.0


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[RunningRegistry]:
    """A server of its own: the throttle counts per process and these tests exhaust it on purpose."""
    server = start_registry(tmp_path / "registry")
    try:
        yield server
    finally:
        server.stop()


def _auditor(registry: RunningRegistry) -> AdminSession:
    """A superadmin session opened before any guess (a throttled address does not end existing sessions)."""
    session = AdminSession(registry)
    assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
    return session


def _checked_guesses(auditor: AdminSession) -> int:
    """Failed logins whose password was checked, counted in the audit trail."""
    page = auditor.get("/admin/audit", params={"action": "admin.login.failed"}).text
    return int(page.split('<p class="muted">')[1].split(" event")[0])


def _second_process(registry: RunningRegistry) -> RunningRegistry:
    """Another server on the same data directory and settings, on a port of its own."""
    env = {key: value for key, value in registry.env.items() if key != "BIND_ADDRESS"}
    return start_registry(registry.workdir, env)


def test_a_valid_login_between_guesses_does_not_reset_the_address_limit(fresh: RunningRegistry) -> None:
    fresh.create_tenant("acme", "--admin-email", ATTACKER[0], "--admin-password", ATTACKER[1])
    auditor = _auditor(fresh)
    session = AdminSession(fresh)
    guesses = []
    for victim in range(57):
        guesses.append(session.login(f"victim-{victim}@acme.test", "Winter2026!"))
        session.login(*ATTACKER)
    statuses = [response.status_code for response in guesses]
    assert statuses == [401] * ADDRESS_FREE_FAILURES + [429] * (57 - ADDRESS_FREE_FAILURES)
    assert all(int(response.headers["retry-after"]) >= 1 for response in guesses[ADDRESS_FREE_FAILURES:])
    assert "Too many failed logins. Try again in" in guesses[-1].text
    assert _checked_guesses(auditor) == ADDRESS_FREE_FAILURES


def _allowed_checks(elapsed: float) -> int:
    """The free failures, plus one more for each doubling delay (2 s, 4 s, ...) that ran out during ``elapsed``."""
    allowed, delay, waited = ACCOUNT_AT_ADDRESS_FREE_FAILURES, FIRST_DELAY_SECONDS, 0.0
    while waited + delay <= elapsed:
        allowed, waited, delay = allowed + 1, waited + delay, delay * 2
    return allowed


def test_parallel_guesses_are_checked_at_most_up_to_the_limit(fresh: RunningRegistry) -> None:
    auditor = _auditor(fresh)
    login_page = httpx.get(fresh.base_url + "/admin/login")
    cookies, csrf = dict(login_page.cookies), csrf_from(login_page.text)
    clients = [httpx.Client(base_url=fresh.base_url, cookies=cookies, timeout=60) for _ in range(40)]
    start = threading.Barrier(40)

    def guess(attempt: int) -> httpx.Response:
        form = {"email": SUPERADMIN_EMAIL, "password": f"guess-{attempt}", "csrf_token": csrf}
        start.wait()
        return clients[attempt].post("/admin/login", data=form)

    began = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=40) as pool:
            responses = list(pool.map(guess, range(40)))
    finally:
        for client in clients:
            client.close()
    elapsed = time.monotonic() - began
    checked = [response for response in responses if response.status_code == 401]
    refused = [response for response in responses if response.status_code == 429]
    assert len(checked) + len(refused) == 40
    assert ACCOUNT_AT_ADDRESS_FREE_FAILURES <= len(checked) <= _allowed_checks(elapsed), elapsed
    assert all(int(response.headers["retry-after"]) >= 1 for response in refused)
    assert all("Too many failed logins" in response.text for response in refused)
    assert _checked_guesses(auditor) == len(checked)


def test_a_logged_out_cookie_gets_the_login_page_on_every_process(fresh: RunningRegistry) -> None:
    second = _second_process(fresh)
    try:
        session = AdminSession(fresh)
        assert session.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
        cookie = session.client.cookies["pyregistry_session"]
        on_second = httpx.get(second.base_url + "/admin/dashboard", cookies={"pyregistry_session": cookie})
        assert on_second.status_code == 200 and "Dashboard" in on_second.text
        logout = httpx.post(
            second.base_url + "/admin/logout",
            cookies={"pyregistry_session": cookie},
            data={"csrf_token": session.csrf},
        )
        assert logout.status_code == 303 and logout.headers["location"] == "/admin/login"
        for server in (fresh, second):
            replayed = httpx.get(server.base_url + "/admin/dashboard", cookies={"pyregistry_session": cookie})
            assert replayed.status_code == 303, server.base_url
            assert replayed.headers["location"] == "/admin/login?next=%2Fadmin%2Fdashboard"
        again = AdminSession(fresh)
        assert again.login(SUPERADMIN_EMAIL, SUPERADMIN_PASSWORD).status_code == 303
        assert again.get("/admin/dashboard").status_code == 200
    finally:
        second.stop()
