"""The admin session store behaves the same on every adapter: memory, SQLite, PostgreSQL, SQL Server.

SQL adapters are opened twice on one database, as two server processes would be: a logout through one must end
the session for the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.session_ports import AdminSessionStore
from pyregistry_domain.sessions import AdminSession, hash_session_id, new_session_id
from pyregistry_domain.users import User
from tests.contract.conftest import STORE_PARAMS, other_processes

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
OpenSessions = Callable[[], AdminSessionStore]


def _add_two_users(registry: MetadataBackend) -> None:
    registry.users.add_user(User(id="u1", email="a@x.test", password_hash="h", is_superadmin=True, created_at=NOW))
    registry.users.add_user(User(id="u2", email="b@x.test", password_hash="h", is_superadmin=False, created_at=NOW))


@pytest.fixture
def open_sessions(store_location: tuple[str, str]) -> Iterator[OpenSessions]:
    """Opens the session store of another "process" on the same database (memory: the one process there is)."""
    yield from other_processes(store_location, _add_two_users, lambda registry: registry.sessions)


def _session(lifetime: timedelta = timedelta(hours=8), created: datetime = NOW, user_id: str = "u1") -> AdminSession:
    return AdminSession(
        id_hash=hash_session_id(new_session_id()), user_id=user_id, created_at=created, expires_at=created + lifetime
    )


def test_a_session_reads_back_exactly(open_sessions: OpenSessions) -> None:
    sessions = open_sessions()
    session = _session()
    sessions.add_session(session, NOW)
    assert sessions.get_session(session.id_hash) == session
    assert sessions.get_session(hash_session_id("never-issued")) is None


def test_revoking_in_one_process_ends_the_session_in_another(open_sessions: OpenSessions) -> None:
    first, second = open_sessions(), open_sessions()
    kept, ended = _session(), _session()
    first.add_session(kept, NOW)
    first.add_session(ended, NOW)
    assert second.revoke_session(ended.id_hash, NOW + timedelta(minutes=5)) is True
    seen = first.get_session(ended.id_hash)
    assert seen == ended.revoked(NOW + timedelta(minutes=5))
    assert seen is not None and not seen.is_active(NOW + timedelta(minutes=6))
    assert first.get_session(kept.id_hash) == kept
    assert second.revoke_session(ended.id_hash, NOW + timedelta(hours=1)) is True
    assert first.get_session(ended.id_hash) == ended.revoked(NOW + timedelta(minutes=5))
    assert second.revoke_session(hash_session_id("never-issued"), NOW) is False


def test_adding_a_session_drops_the_expired_ones(open_sessions: OpenSessions) -> None:
    sessions = open_sessions()
    old, current = _session(timedelta(hours=1)), _session()
    sessions.add_session(old, NOW)
    sessions.add_session(current, NOW)
    later = NOW + timedelta(hours=2)
    fresh = _session(created=later)
    sessions.add_session(fresh, later)
    assert sessions.get_session(old.id_hash) is None
    assert sessions.get_session(current.id_hash) == current
    assert sessions.get_session(fresh.id_hash) == fresh


def test_revoking_a_users_sessions_ends_all_of_theirs_only(open_sessions: OpenSessions) -> None:
    first, second = open_sessions(), open_sessions()
    mine = [_session(), _session(timedelta(hours=2))]
    short, theirs = _session(timedelta(minutes=30)), _session(user_id="u2")
    for session in (*mine, short, theirs):
        first.add_session(session, NOW)
    when = NOW + timedelta(hours=1)
    assert second.revoke_user_sessions("u1", when) == 2
    assert [first.get_session(session.id_hash) for session in mine] == [session.revoked(when) for session in mine]
    assert first.get_session(short.id_hash) == short
    assert first.get_session(theirs.id_hash) == theirs
    assert second.revoke_user_sessions("u1", when) == 0
    assert second.revoke_user_sessions("nobody", when) == 0
