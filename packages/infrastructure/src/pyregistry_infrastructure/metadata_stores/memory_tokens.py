"""In-memory API tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.tokens import ApiToken
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState

__all__ = ["MemoryTokenStore"]


class MemoryTokenStore:
    """Implements ``TokenStore`` on a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def add_token(self, token: ApiToken) -> None:
        with self._state.lock:
            if token.id in self._state.tokens or any(t.key_id == token.key_id for t in self._state.tokens.values()):
                raise AlreadyExists("token already exists")
            self._state.tokens[token.id] = token

    def get_token_by_key_id(self, key_id: str) -> ApiToken | None:
        with self._state.lock:
            return next((token for token in self._state.tokens.values() if token.key_id == key_id), None)

    def list_tokens(self, tenant_id: str) -> list[ApiToken]:
        with self._state.lock:
            found = [token for token in self._state.tokens.values() if token.tenant_id == tenant_id]
            return sorted(found, key=lambda token: token.created_at, reverse=True)

    def revoke_token(self, tenant_id: str, token_id: str, when: datetime) -> bool:
        with self._state.lock:
            token = self._state.tokens.get(token_id)
            if token is None or token.tenant_id != tenant_id:
                return False
            if token.revoked_at is None:
                self._state.tokens[token_id] = token.revoked(when)
            return True

    def touch_token(self, token_id: str, when: datetime) -> None:
        with self._state.lock:
            token = self._state.tokens.get(token_id)
            if token is not None:
                self._state.tokens[token_id] = replace(token, last_used_at=when)
