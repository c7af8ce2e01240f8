"""Domain rules: which version is current (as PyPI picks it) and when an admin session is active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyregistry_domain.latest import latest_version
from pyregistry_domain.sessions import AdminSession, hash_session_id, new_session_id
from tests.support.records import sdist_record

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_latest_is_the_newest_final_release_with_an_unyanked_file() -> None:
    versions = ["1.0", "1.10", "2.0rc1", "1.9", "3.0"]
    files = [
        sdist_record("1.0"),
        sdist_record("1.10"),
        sdist_record("1.9"),
        sdist_record("2.0rc1"),
        sdist_record("3.0", yanked=True),
    ]
    assert latest_version(versions, files) == "1.10"


def test_latest_falls_back_to_prereleases_then_yanked_then_versions_without_files() -> None:
    assert latest_version(["1.0", "2.0b1"], [sdist_record("1.0", yanked=True), sdist_record("2.0b1")]) == "2.0b1"
    assert latest_version(["1.0", "2.0"], [sdist_record("1.0", yanked=True), sdist_record("2.0", yanked=True)]) == "2.0"
    assert latest_version(["1.0", "2.0"], []) == "2.0"
    assert latest_version([], []) is None


def test_session_ids_are_random_and_stored_only_as_a_hash() -> None:
    first, second = new_session_id(), new_session_id()
    assert first != second and len(first) >= 43
    assert hash_session_id(first) == hash_session_id(first) != hash_session_id(second)
    assert first not in hash_session_id(first)


def test_a_session_is_active_until_it_expires_or_is_revoked() -> None:
    session = AdminSession(id_hash="h", user_id="u", created_at=NOW, expires_at=NOW + timedelta(hours=8))
    assert session.is_active(NOW) and session.is_active(NOW + timedelta(hours=7, minutes=59))
    assert not session.is_active(NOW + timedelta(hours=8))
    revoked = session.revoked(NOW + timedelta(minutes=1))
    assert revoked.revoked_at == NOW + timedelta(minutes=1) and not revoked.is_active(NOW + timedelta(minutes=2))
