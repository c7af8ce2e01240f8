"""Admin use cases on the in-memory store: login throttling, README extraction, tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_application.admin_access import AdminAuthorization
from pyregistry_application.admin_accounts import AdminAccounts
from pyregistry_application.audit import AuditTrail
from pyregistry_application.dto import AuditQuery
from pyregistry_application.limit_counters import ThrottlePolicy
from pyregistry_application.login_throttle import LoginThrottle
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.readme_extraction import readme_from_metadata
from pyregistry_application.tenants import TenantAdministration
from pyregistry_domain.errors import Forbidden, NotFound
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.metadata_stores.memory_sessions import MemoryAdminSessionStore
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters
from pyregistry_infrastructure.system import RandomIds, ScryptPasswordHasher


class SteppingClock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)

    def millis(self) -> int:
        return int(self.moment.timestamp() * 1000)


KEYS = {"account:a@b.test|10.0.0.1": 3}


def _throttle(clock: SteppingClock, **policy: int) -> LoginThrottle:
    return LoginThrottle(MemoryLimitCounters(clock_ms=clock.millis), ThrottlePolicy(**policy))


def test_throttle_allows_free_failures_then_doubles_the_wait() -> None:
    clock = SteppingClock()
    throttle = _throttle(clock, base_delay_ms=2_000, max_delay_ms=10_000)
    assert [throttle.reserve(KEYS) for _ in range(4)] == [0, 0, 0, 2]  # the throttled fourth records nothing
    clock.advance(2)
    assert [throttle.reserve(KEYS) for _ in range(2)] == [0, 4]
    clock.advance(4)
    assert throttle.reserve(KEYS) == 0
    clock.advance(8)
    assert [throttle.reserve(KEYS) for _ in range(2)] == [0, 10]
    throttle.succeeded(KEYS)
    assert throttle.reserve(KEYS) == 0


def test_throttle_refund_takes_back_one_reserved_failure() -> None:
    throttle = _throttle(SteppingClock())
    assert [throttle.reserve(KEYS) for _ in range(3)] == [0, 0, 0]
    throttle.refund(KEYS)
    assert [throttle.reserve(KEYS) for _ in range(2)] == [0, 2]


def test_throttle_wait_stays_at_the_maximum_after_very_many_failures() -> None:
    clock = SteppingClock()
    throttle = _throttle(clock, max_delay_ms=300_000)
    for _ in range(200):  # a persistent guesser, waiting out every delay inside the window
        assert throttle.reserve(KEYS) == 0
        clock.advance(300)
    assert [throttle.reserve(KEYS) for _ in range(2)] == [0, 300]


def test_throttle_forgets_failures_after_the_window() -> None:
    clock = SteppingClock()
    throttle = _throttle(clock, window_ms=60_000)
    assert [throttle.reserve(KEYS) > 0 for _ in range(5)] == [False, False, False, True, True]
    clock.advance(61)
    assert throttle.reserve(KEYS) == 0


@pytest.fixture
def accounts_setup() -> tuple[AdminAccounts, MetadataBackend, SteppingClock, TenantAdministration]:
    store, clock, ids = memory_backend(), SteppingClock(), RandomIds()
    hasher = ScryptPasswordHasher(n=2**10)
    audit = AuditTrail(store.audit_log, clock, ids)
    store.users.add_user(
        User(
            id="root",
            email="root@x.test",
            password_hash=hasher.hash("right-password"),
            is_superadmin=True,
            created_at=clock.now(),
        )
    )
    tenants = TenantAdministration(store.tenants, store.users, clock, ids, hasher, audit)
    accounts = AdminAccounts(store.users, hasher, audit, _throttle(clock), MemoryAdminSessionStore(), clock)
    return accounts, store, clock, tenants


def test_login_checks_password_throttles_and_audits_without_secrets(accounts_setup) -> None:  # type: ignore[no-untyped-def]
    accounts, store, clock, _ = accounts_setup
    first = accounts.login("ROOT@x.test ", "right-password", "10.0.0.1").user
    assert first is not None
    claims = accounts.open_session(first)
    assert accounts.session_user(claims) == first
    assert accounts.session_user({"uid": "root", "pwv": claims["pwv"]}) is None
    assert accounts.session_user({**claims, "pwv": "forged"}) is None
    assert accounts.session_user({**claims, "sid": "made-up"}) is None
    outcomes = [accounts.login("root@x.test", f"wrong-{n}", "10.0.0.1") for n in range(4)]
    assert [outcome.user for outcome in outcomes] == [None] * 4
    assert [outcome.retry_after > 0 for outcome in outcomes] == [False, False, False, True]
    assert accounts.login("root@x.test", "right-password", "10.0.0.1").retry_after > 0
    assert accounts.login("root@x.test", "right-password", "10.0.0.2").user is not None
    clock.advance(5)
    assert accounts.login("root@x.test", "right-password", "10.0.0.1").user is not None
    events = store.audit_log.list_audit_events(AuditQuery(limit=100)).items
    actions = {event.action for event in events}
    assert {"admin.login", "admin.login.failed", "admin.login.throttled"} <= actions
    assert all(event.source_ip in {"10.0.0.1", "10.0.0.2"} for event in events)
    assert not any("wrong-" in repr(event) or "right-password" in repr(event) for event in events)


def _checked_guesses(store: MetadataBackend) -> int:
    return sum(
        event.action == "admin.login.failed" for event in store.audit_log.list_audit_events(AuditQuery(limit=500)).items
    )


def test_a_valid_login_between_guesses_does_not_reset_the_address_count(accounts_setup) -> None:  # type: ignore[no-untyped-def]
    accounts, store, _, tenants = accounts_setup
    tenants.create_tenant(
        slug="acme",
        display_name="Acme",
        admin_email="mallory@acme.test",
        admin_password="mallory-password",
        mirroring_enabled=False,
        actor="test",
    )
    statuses = []
    for guess in range(57):
        statuses.append(accounts.login(f"victim-{guess}@x.test", "guess", "10.0.0.9").retry_after)
        accounts.login("mallory@acme.test", "mallory-password", "10.0.0.9")
    assert _checked_guesses(store) == 20
    assert statuses[:20] == [0] * 20 and all(wait > 0 for wait in statuses[20:])


def test_one_account_is_throttled_across_addresses(accounts_setup) -> None:  # type: ignore[no-untyped-def]
    accounts, store, _, _ = accounts_setup
    outcomes = [accounts.login("root@x.test", "wrong", f"10.1.0.{n}") for n in range(15)]
    assert _checked_guesses(store) == 10
    assert [outcome.retry_after > 0 for outcome in outcomes] == [False] * 10 + [True] * 5


def test_logout_revokes_the_session(accounts_setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _, clock, _ = accounts_setup
    user = accounts.login("root@x.test", "right-password", None).user
    assert user is not None
    claims, other = accounts.open_session(user), accounts.open_session(user)
    accounts.logout(user, claims, None)
    assert accounts.session_user(claims) is None
    assert accounts.session_user(other) == user
    clock.advance(8 * 3600)
    assert accounts.session_user(other) is None


def test_password_change_ends_existing_sessions(accounts_setup) -> None:  # type: ignore[no-untyped-def]
    accounts, store, _, _ = accounts_setup
    user = accounts.login("root@x.test", "right-password", None).user
    assert user is not None
    claims = accounts.open_session(user)
    store.users.set_user_password("root", ScryptPasswordHasher(n=2**10).hash("another-password"))
    assert accounts.session_user(claims) is None


def test_tenant_admins_cannot_reach_other_tenants(accounts_setup) -> None:  # type: ignore[no-untyped-def]
    _, store, _, tenants = accounts_setup
    tenants.create_tenant(
        slug="acme",
        display_name="Acme",
        admin_email="a@acme.test",
        admin_password="password-1",
        mirroring_enabled=False,
        actor="test",
    )
    tenants.create_tenant(
        slug="globex",
        display_name="Globex",
        admin_email=None,
        admin_password=None,
        mirroring_enabled=False,
        actor="test",
    )
    authorization = AdminAuthorization(store.tenants)
    admin = store.users.get_user_by_email("a@acme.test")
    root = store.users.get_user("root")
    assert admin is not None and root is not None
    assert [tenant.slug for tenant in authorization.visible_tenants(admin)] == ["acme"]
    assert [tenant.slug for tenant in authorization.visible_tenants(root)] == ["acme", "globex"]
    assert authorization.tenant_for(admin, "acme").slug == "acme"
    with pytest.raises(Forbidden):
        authorization.tenant_for(admin, "globex")
    with pytest.raises(Forbidden):
        authorization.tenant_for(admin, "missing")
    with pytest.raises(NotFound):
        authorization.tenant_for(root, "missing")
    with pytest.raises(Forbidden):
        authorization.require_superadmin(admin)


def test_readme_from_body_and_from_legacy_description_header() -> None:
    body = (
        b"Metadata-Version: 2.1\nName: x\nVersion: 1\nDescription-Content-Type: text/markdown\n\n# Title\n<b>hi</b>\n"
    )
    readme = readme_from_metadata(body)
    assert readme is not None
    assert readme.text == "# Title\n<b>hi</b>"
    assert readme.content_type == "text/markdown"
    with_variant = readme_from_metadata(body.replace(b"text/markdown", b"text/markdown;\n  variant=CommonMark"))
    assert with_variant is not None and with_variant.content_type == "text/markdown; variant=CommonMark"
    header = b"Metadata-Version: 1.1\nName: x\nVersion: 1\nDescription: first line\n        |second line\n"
    legacy = readme_from_metadata(header)
    assert legacy is not None and legacy.text == "first line\nsecond line" and legacy.content_type == ""
    assert readme_from_metadata(b"Metadata-Version: 2.1\nName: x\nVersion: 1\n") is None
