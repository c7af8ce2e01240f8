"""In-memory users and their tenant roles."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from pyregistry_domain.errors import AlreadyExists, NotFound
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState

__all__ = ["MemoryUserStore"]


class MemoryUserStore:
    """Implements ``UserStore`` on a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add_user(self, user: User) -> None:
        with self._state.lock:
            if user.id in self._state.users or any(u.email == user.email for u in self._state.users.values()):
                raise AlreadyExists(f"user {user.email!r} already exists")
            self._state.users[user.id] = user

    def get_user(self, user_id: str) -> User | None:
        return self._state.users.get(user_id)

    def get_user_by_email(self, email: str) -> User | None:
        with self._state.lock:
            return next((user for user in self._state.users.values() if user.email == email), None)

    def set_user_password(self, user_id: str, password_hash: str) -> None:
        with self._state.lock:
            user = self._state.users.get(user_id)
            if user is None:
                raise NotFound(f"user {user_id!r} does not exist")
            self._state.users[user_id] = replace(user, password_hash=password_hash)

    def set_tenant_role(self, user_id: str, tenant_id: str, role: TenantRole) -> None:
        with self._state.lock:
            user = self._state.users.get(user_id)
            if user is None or tenant_id not in self._state.tenants:
                raise NotFound("user or tenant does not exist")
            self._state.users[user_id] = replace(user, roles=MappingProxyType({**user.roles, tenant_id: role}))

    def remove_tenant_role(self, user_id: str, tenant_id: str) -> bool:
        with self._state.lock:
            user = self._state.users.get(user_id)
            if user is None or tenant_id not in user.roles:
                return False
            kept = {tenant: role for tenant, role in user.roles.items() if tenant != tenant_id}
            self._state.users[user_id] = replace(user, roles=MappingProxyType(kept))
            return True

    def list_tenant_members(self, tenant_id: str) -> list[User]:
        with self._state.lock:
            return sorted(
                (user for user in self._state.users.values() if tenant_id in user.roles), key=lambda u: u.email
            )
