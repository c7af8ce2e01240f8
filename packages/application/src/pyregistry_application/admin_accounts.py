"""Admin login, logout and looking up the user behind a session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

import msgspec

from pyregistry_application.audit import AuditTrail
from pyregistry_application.login_throttle import LoginThrottle
from pyregistry_application.ports import PasswordHasher, RegistryStore
from pyregistry_domain.users import User

__all__ = ["AdminAccounts", "LoginOutcome"]

_ACCOUNT_FREE_FAILURES = 3
_ADDRESS_FREE_FAILURES = 20


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(("pyregistry-session:" + user.password_hash).encode("utf-8")).hexdigest()[:32]


class LoginOutcome(msgspec.Struct, frozen=True):
    """The logged-in user, or why not: ``retry_after`` > 0 means the attempt was throttled and not checked."""

    user: User | None
    retry_after: int = 0


class AdminAccounts:
    """Password login for the admin UI with throttling; every attempt lands in the audit trail (never the password)."""

    def __init__(
        self, store: RegistryStore, hasher: PasswordHasher, audit: AuditTrail, throttle: LoginThrottle
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._audit = audit
        self._throttle = throttle
        self._dummy_hash: str | None = None

    def login(self, email: str, password: str, source_ip: str | None) -> LoginOutcome:
        """Check the credentials unless throttled; unknown accounts cost the same time as wrong passwords."""
        email = email.strip().lower()[:320]
        keys = {f"account:{email}|{source_ip}": _ACCOUNT_FREE_FAILURES, f"ip:{source_ip}": _ADDRESS_FREE_FAILURES}
        wait = self._throttle.retry_after(keys)
        if wait > 0:
            self._audit.record(
                actor=email or "anonymous", action="admin.login.throttled", target="admin-ui", source_ip=source_ip
            )
            return LoginOutcome(user=None, retry_after=wait)
        user = self._store.get_user_by_email(email) if email else None
        if user is None:
            self._hasher.verify(self._dummy(), password)
            valid = False
        else:
            valid = self._hasher.verify(user.password_hash, password)
        if not valid or user is None:
            self._throttle.failed(keys)
            self._audit.record(
                actor=email or "anonymous", action="admin.login.failed", target="admin-ui", source_ip=source_ip
            )
            return LoginOutcome(user=None)
        self._throttle.succeeded(keys)
        self._audit.record(actor=user.email, action="admin.login", target="admin-ui", source_ip=source_ip)
        return LoginOutcome(user=user)

    def logout(self, user: User, source_ip: str | None) -> None:
        """Record the end of a session."""
        self._audit.record(actor=user.email, action="admin.logout", target="admin-ui", source_ip=source_ip)

    @staticmethod
    def session_claims(user: User) -> dict[str, str]:
        """What a session stores about its user: the id and a fingerprint of the password hash."""
        return {"uid": user.id, "pwv": _password_fingerprint(user)}

    def session_user(self, session: Mapping[str, object]) -> User | None:
        """The user a session names; ``None`` when missing, gone, or the password changed since login."""
        user_id, fingerprint = session.get("uid"), session.get("pwv")
        if not isinstance(user_id, str) or not user_id or not isinstance(fingerprint, str):
            return None
        user = self._store.get_user(user_id)
        if user is None or not hmac.compare_digest(fingerprint, _password_fingerprint(user)):
            return None
        return user

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy_hash
