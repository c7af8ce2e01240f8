"""Admin login, logout and looking up the user behind a session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.limit_counters import LimitCountersUnavailable
from pyregistry_application.login_throttle import LoginThrottle
from pyregistry_application.metadata_ports import UserStore
from pyregistry_application.ports import Clock, PasswordHasher
from pyregistry_application.session_ports import AdminSessionStore
from pyregistry_domain.sessions import AdminSession, hash_session_id, new_session_id
from pyregistry_domain.users import User

__all__ = ["SESSION_LIFETIME", "AdminAccounts", "LoginOutcome"]

SESSION_LIFETIME = timedelta(hours=8)
"""How long an admin session lasts after login (the cookie's ``Max-Age`` too)."""

_ACCOUNT_AT_ADDRESS_FREE_FAILURES = 3
_ACCOUNT_FREE_FAILURES = 10
_ADDRESS_FREE_FAILURES = 20


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(("pyregistry-session:" + user.password_hash).encode("utf-8")).hexdigest()[:32]


def _throttle_keys(email: str, source_ip: str | None) -> tuple[dict[str, int], dict[str, int]]:
    """The account keys (cleared by a successful login) and the address key (never cleared by one)."""
    account = {
        f"account:{email}|{source_ip}": _ACCOUNT_AT_ADDRESS_FREE_FAILURES,
        f"account:{email}": _ACCOUNT_FREE_FAILURES,
    }
    return account, {f"ip:{source_ip}": _ADDRESS_FREE_FAILURES}


class LoginOutcome(msgspec.Struct, frozen=True):
    """The logged-in user, or why not: ``retry_after`` > 0 means the attempt was throttled and not checked.

    ``throttle_unavailable`` names why the throttle's counters could not be reached: without a user the attempt
    was refused unchecked (the throttle fails closed); with one, the password was right but its counts stay.
    """

    user: User | None
    retry_after: int = 0
    throttle_unavailable: str = ""


class AdminAccounts:
    """Password login for the admin UI with throttling and revocable sessions; every attempt lands in the audit
    trail (never the password).

    Failures count per account at an address, per account and per address. A password is checked only after a
    failure was reserved under all three keys at once, so parallel guesses cannot slip past the limit; a success
    clears the account's counts and takes back its own reservation from the address, whose earlier failures stay.
    """

    def __init__(
        self,
        users: UserStore,
        hasher: PasswordHasher,
        audit: AuditTrail,
        throttle: LoginThrottle,
        sessions: AdminSessionStore,
        clock: Clock,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._audit = audit
        self._throttle = throttle
        self._sessions = sessions
        self._clock = clock
        self._dummy_hash: str | None = None

    def login(self, email: str, password: str, source_ip: str | None) -> LoginOutcome:
        """Check the credentials unless throttled; unknown accounts cost the same time as wrong passwords."""
        email = email.strip().lower()[:320]
        account_keys, address_keys = _throttle_keys(email, source_ip)
        try:
            wait = self._throttle.reserve({**account_keys, **address_keys})
        except LimitCountersUnavailable as exc:
            self._audit.record(
                actor=email or "anonymous", action="admin.login.unavailable", target="admin-ui", source_ip=source_ip
            )
            return LoginOutcome(user=None, throttle_unavailable=str(exc))
        if wait > 0:
            self._audit.record(
                actor=email or "anonymous", action="admin.login.throttled", target="admin-ui", source_ip=source_ip
            )
            return LoginOutcome(user=None, retry_after=wait)
        user = self._users.get_user_by_email(email) if email else None
        if user is None:
            self._hasher.verify(self._dummy(), password)
            valid = False
        else:
            valid = self._hasher.verify(user.password_hash, password)
        if not valid or user is None:
            self._audit.record(
                actor=email or "anonymous", action="admin.login.failed", target="admin-ui", source_ip=source_ip
            )
            return LoginOutcome(user=None)
        self._audit.record(actor=user.email, action="admin.login", target="admin-ui", source_ip=source_ip)
        try:
            self._throttle.succeeded(account_keys)
            self._throttle.refund(address_keys)
        except LimitCountersUnavailable as exc:
            return LoginOutcome(user=user, throttle_unavailable=str(exc))
        return LoginOutcome(user=user)

    def logout(self, user: User, session: Mapping[str, object], source_ip: str | None) -> None:
        """End the session for every server process and record it."""
        session_id = session.get("sid")
        if isinstance(session_id, str) and session_id:
            self._sessions.revoke_session(hash_session_id(session_id), self._clock.now())
        self._audit.record(actor=user.email, action="admin.logout", target="admin-ui", source_ip=source_ip)

    def open_session(self, user: User) -> dict[str, str]:
        """Start a session and return what the cookie stores: its id, the user id and a password fingerprint."""
        now = self._clock.now()
        session_id = new_session_id()
        self._sessions.add_session(
            AdminSession(
                id_hash=hash_session_id(session_id),
                user_id=user.id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            ),
            now,
        )
        return {"sid": session_id, "uid": user.id, "pwv": _password_fingerprint(user)}

    def session_user(self, session: Mapping[str, object]) -> User | None:
        """The user a session names; ``None`` when missing, logged out, expired, gone, or the password changed."""
        session_id, user_id, fingerprint = session.get("sid"), session.get("uid"), session.get("pwv")
        if not all(isinstance(value, str) and value for value in (session_id, user_id, fingerprint)):
            return None
        stored = self._sessions.get_session(hash_session_id(str(session_id)))
        if stored is None or stored.user_id != user_id or not stored.is_active(self._clock.now()):
            return None
        user = self._users.get_user(str(user_id))
        if user is None or not hmac.compare_digest(str(fingerprint), _password_fingerprint(user)):
            return None
        return user

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
